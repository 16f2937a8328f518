//! The staff dashboard's files: served from the binary as ES modules under a strict
//! Content-Security-Policy. (What the dashboard does is tested in a real browser:
//! tools/browser-tests.)

use crate::helpers::TestApp;

const MODULES: &[&str] = &[
    "admin.js",
    "api.js",
    "audit.js",
    "client.js",
    "conversation.js",
    "dom.js",
    "exports.js",
    "lead.js",
    "leads.js",
    "memory.js",
    "palette.js",
    "privacy.js",
    "router.js",
    "search.js",
    "session.js",
    "state.js",
    "webhooks.js",
];

fn policy(response: &reqwest::Response) -> String {
    response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_dashboard_allows_scripts_styles_and_connections_from_its_own_origin_only() {
    let app = TestApp::spawn().await;
    let response = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let csp = policy(&response);
    for directive in [
        "default-src 'self'",
        "script-src 'self';",
        "style-src 'self';",
        "connect-src 'self' ws: wss:;",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} missing from {csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    assert!(!csp.contains("http:") && !csp.contains("https:"), "{csp}");

    // Nothing inline for the policy to have to allow.
    let page = response.text().await.unwrap();
    assert!(!page.contains(" style="), "an inline style attribute");
    assert!(!page.contains("<style"), "an inline stylesheet");
    for script in page.split("<script").skip(1) {
        assert!(
            script.contains(" src=\"/"),
            "an inline script: <script{script}"
        );
    }
    assert!(page.contains("<script type=\"module\" src=\"/app.js\">"));
}

#[tokio::test]
async fn every_dashboard_module_is_served_as_javascript_under_the_same_policy() {
    let app = TestApp::spawn().await;
    for name in MODULES {
        let response = app
            .client
            .get(app.url(&format!("/js/{name}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{name}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/javascript"),
            "{name}"
        );
        assert!(policy(&response).contains("script-src 'self';"), "{name}");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        assert!(!response.text().await.unwrap().is_empty(), "{name}");
    }
    let missing = app
        .client
        .get(app.url("/js/nothing.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
}
