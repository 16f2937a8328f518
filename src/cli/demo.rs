//! `serve --demo`: a tenant, an admin and a few cross-channel conversations (English and
//! Hebrew) on an empty database, so a newcomer has something to look at.
//!
//! Everything goes through the real services (ingest, notes, profile), with historical times,
//! so the data looks exactly like what agents would produce.

use std::net::SocketAddr;

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use sea_orm::{EntityTrait, PaginatorTrait};

use crate::auth::Actor;
use crate::domain::{Channel, MessageRole, StaffRole};
use crate::entities::{staff_user, tenant};
use crate::error::AppError;
use crate::repo;
use crate::services::ingest::{Ingest, MessageInput};
use crate::services::{self, notes::NewNote, tenants::SettingsUpdate};
use crate::state::AppState;

pub const ADMIN_EMAIL: &str = "admin@demo.local";

/// One scripted conversation.
struct Conversation {
    channel: Channel,
    external_user_id: Option<&'static str>,
    phone: Option<&'static str>,
    email: Option<&'static str>,
    display_name: Option<&'static str>,
    /// How long before now it started.
    ago: Duration,
    session_ref: Option<&'static str>,
    /// (role, minutes after the start, content)
    turns: &'static [(MessageRole, i64, &'static str)],
}

use MessageRole::{Agent, Customer};

fn script() -> Vec<Conversation> {
    vec![
        Conversation {
            channel: Channel::Whatsapp,
            external_user_id: Some("972525551234"),
            phone: None,
            email: None,
            display_name: Some("Dana Cohen"),
            ago: Duration::days(3),
            session_ref: None,
            turns: &[
                (
                    Customer,
                    0,
                    "Hi! My name is Dana, I'm looking for a flight to Rome next month",
                ),
                (
                    Agent,
                    1,
                    "Hi Dana! Happy to help. Which dates are you thinking of?",
                ),
                (
                    Customer,
                    3,
                    "Around the 12th, for a week. How much would it be?",
                ),
                (
                    Agent,
                    4,
                    "Return flights start at $420. Would you like me to hold a seat?",
                ),
                (
                    Customer,
                    6,
                    "And how much is 420 USD in EUR? I'll pay from my euro account",
                ),
                (Agent, 7, "That's about 385 EUR at today's rate."),
                (
                    Customer,
                    9,
                    "Great, I live in Tel Aviv so morning flights from TLV please. Thanks!",
                ),
            ],
        },
        Conversation {
            channel: Channel::Call,
            external_user_id: None,
            phone: Some("+972525551234"),
            email: None,
            display_name: None,
            ago: Duration::days(2),
            session_ref: Some("CA-demo-0001"),
            turns: &[
                (
                    Customer,
                    0,
                    "Hi, it's Dana again, calling about the Rome trip",
                ),
                (
                    Agent,
                    1,
                    "Welcome back Dana! Shall we book the morning flight on the 12th?",
                ),
                (
                    Customer,
                    2,
                    "Yes please, book it. And I'd like travel insurance too",
                ),
                (
                    Agent,
                    3,
                    "Done: booked, and I'll send the insurance quote by email today.",
                ),
            ],
        },
        Conversation {
            channel: Channel::Whatsapp,
            external_user_id: Some("972535557788"),
            phone: None,
            email: None,
            display_name: Some("נועה לוי"),
            ago: Duration::days(1),
            session_ref: None,
            turns: &[
                (
                    Customer,
                    0,
                    "שלום, קוראים לי נועה ואני מחפשת מלון באילת לסוף השבוע",
                ),
                (Agent, 1, "היי נועה! לכמה לילות ולכמה אנשים?"),
                (Customer, 2, "שני לילות, זוג. כמה זה עולה בערך?"),
                (
                    Agent,
                    3,
                    "יש חדר זוגי עם ארוחת בוקר ב-1,400 ש\"ח לשני הלילות",
                ),
                (Customer, 5, "מעולה, אני גרה בחיפה אז נגיע ביום שישי. תודה!"),
            ],
        },
        Conversation {
            channel: Channel::Web,
            external_user_id: Some("web-visitor-42"),
            phone: None,
            email: Some("michael.brown@example.com"),
            display_name: Some("Michael Brown"),
            ago: Duration::hours(5),
            session_ref: None,
            turns: &[
                (
                    Customer,
                    0,
                    "My booking confirmation never arrived and nobody answers the phone",
                ),
                (
                    Agent,
                    1,
                    "I'm sorry about that, Michael. Let me check your booking.",
                ),
                (
                    Customer,
                    2,
                    "This is the second time. Really disappointed with the service",
                ),
                (
                    Agent,
                    4,
                    "I found it and resent the confirmation to michael.brown@example.com",
                ),
            ],
        },
        Conversation {
            channel: Channel::Sms,
            external_user_id: None,
            phone: Some("+14155552671"),
            email: None,
            display_name: None,
            ago: Duration::minutes(40),
            session_ref: None,
            turns: &[
                (
                    Customer,
                    0,
                    "Hi, this is Yossi. Can I move my appointment from Tuesday to Thursday?",
                ),
                (
                    Agent,
                    1,
                    "Sure Yossi, Thursday at 10:00 works. Shall I confirm?",
                ),
                (Customer, 2, "Yes please"),
            ],
        },
    ]
}

/// Seeds the demo when the database holds no tenant yet, then prints how to get in.
pub async fn seed_if_empty(
    state: &AppState,
    ingest: &Ingest,
    addr: SocketAddr,
) -> anyhow::Result<()> {
    if tenant::Entity::find().count(state.db.reader()).await? > 0 {
        println!();
        println!("memodesk: the database already has data; --demo added nothing.");
        let admins = repo::users::find_by_email_any_tenant(state.db.reader(), ADMIN_EMAIL).await?;
        match admins.first() {
            Some(admin) => print_how_to_get_in(state, admin, addr, None)?,
            None => {
                println!("  Dashboard:  http://{addr}/");
                println!("  GraphiQL:   http://{addr}/graphql");
                println!("  Tenants:    memodesk tenant list");
                println!(
                    "  A user:     memodesk user create --tenant <id> --email <e> --role admin"
                );
                println!();
            }
        }
        return Ok(());
    }
    let now = state.now();
    let tenant = services::tenants::create(&state.db, "Demo Travel & Exchange", now)
        .await
        .map_err(describe)?;
    let system = Actor::system(tenant.id);
    services::tenants::update_settings(
        state,
        &system,
        SettingsUpdate {
            default_region: Some("IL".into()),
            ..SettingsUpdate::default()
        },
    )
    .await
    .map_err(describe)?;
    let password = generated_password();
    let admin = services::users::create(
        &state.db,
        tenant.id,
        services::users::NewUser {
            email: ADMIN_EMAIL.into(),
            password: password.clone(),
            role: StaffRole::Admin,
            display_name: Some("Demo Admin".into()),
        },
        now,
    )
    .await
    .map_err(describe)?;

    let mut lead_ids = Vec::new();
    for conversation in script() {
        let start = now - conversation.ago;
        let inputs = conversation
            .turns
            .iter()
            .enumerate()
            .map(|(i, (role, minute, content))| MessageInput {
                channel: Some(conversation.channel),
                external_user_id: conversation.external_user_id.map(str::to_owned),
                phone: conversation.phone.map(str::to_owned),
                email: conversation.email.map(str::to_owned),
                display_name: conversation.display_name.map(str::to_owned),
                role: Some(*role),
                content: (*content).to_owned(),
                external_id: Some(format!("demo-{}-{i}", start.timestamp())),
                occurred_at: Some(at(start, *minute)),
                session_ref: conversation.session_ref.map(str::to_owned),
                metadata: None,
                ends_session: conversation.session_ref.is_some()
                    && i + 1 == conversation.turns.len(),
                text_cleaned: false,
            })
            .collect();
        let results = ingest
            .record_many(&system, inputs)
            .await
            .map_err(describe)?;
        if let Some(Ok(first)) = results.first() {
            lead_ids.push(first.lead.id);
        }
    }

    // Staff touches: notes, and a manual value the AI may not overwrite.
    let staff = Actor {
        principal: crate::auth::Principal::User { id: admin.id },
        ..system.clone()
    };
    if let Some(dana) = lead_ids.first() {
        services::notes::add(
            state,
            &staff,
            NewNote {
                lead_id: *dana,
                session_id: None,
                body: "Frequent traveller; prefers aisle seats and morning flights.".into(),
                pinned: true,
            },
        )
        .await
        .map_err(describe)?;
        services::profile::staff_edit(
            state,
            &staff,
            *dana,
            "preferred_currency",
            services::profile::StaffAction::Set("EUR".into()),
        )
        .await
        .map_err(describe)?;
    }
    if let Some(michael) = lead_ids.get(3) {
        services::notes::add(
            state,
            &staff,
            NewNote {
                lead_id: *michael,
                session_id: None,
                body: "Had two delivery problems with confirmations; offer a goodwill voucher."
                    .into(),
                pinned: false,
            },
        )
        .await
        .map_err(describe)?;
    }

    // Conversations that went quiet long ago are closed and summarized before the server opens.
    services::sessions::close_idle(state)
        .await
        .map_err(describe)?;
    crate::workers::jobs::run_pending(state).await?;

    print_how_to_get_in(state, &admin, addr, Some(&password))?;
    Ok(())
}

/// Where the dashboard is and how to sign in: the admin, the tenant id the CLI commands take,
/// the password when it was just generated (or how to reset it), and a fresh token.
fn print_how_to_get_in(
    state: &AppState,
    admin: &staff_user::Model,
    addr: SocketAddr,
    password: Option<&str>,
) -> anyhow::Result<()> {
    let token = state.jwt.issue(
        &admin.id.to_string(),
        admin.tenant_id,
        admin.role,
        state.now(),
        Duration::hours(12),
    )?;
    let tenant = admin.tenant_id;
    println!();
    println!("memodesk demo is ready.");
    println!("  Dashboard:  http://{addr}/");
    println!("  GraphiQL:   http://{addr}/graphql");
    println!("  Tenant id:  {tenant}");
    match password {
        Some(password) => println!("  Sign in:    {} / {password}", admin.email),
        None => {
            println!(
                "  Sign in:    {} (the password printed when the demo was created)",
                admin.email
            );
            println!(
                "              forgot it? memodesk user set-password --tenant {tenant} --email {}",
                admin.email
            );
        }
    }
    println!("  Token:      {token}");
    println!("              (valid 12 hours; send as Authorization: Bearer <token>)");
    println!(
        "  Try:        {{ leads {{ edges {{ node {{ displayName lastChannel profile {{ key value source }} }} }} }} }}"
    );
    println!();
    Ok(())
}

fn at(start: DateTime<Utc>, minutes: i64) -> DateTime<Utc> {
    start + Duration::minutes(minutes)
}

fn generated_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..16)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

fn describe(err: AppError) -> anyhow::Error {
    anyhow::anyhow!(err.describe())
}
