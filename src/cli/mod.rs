//! The command line: `serve`, `migrate`, `schema`, and the admin commands.

mod demo;

use std::io::{BufRead, IsTerminal};
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use uuid::Uuid;

use crate::app::{App, AppOptions, build_state};
use crate::auth::Actor;
use crate::config::Settings;
use crate::db::{Db, PoolOptions};
use crate::domain::free_text;
use crate::domain::{ApiScope, StaffRole};
use crate::services;

/// memodesk: the memory behind customer-facing AI agents.
#[derive(Parser, Debug)]
#[command(name = "memodesk", version, about, long_about = None)]
pub struct Cli {
    /// A TOML config file (default: ./memodesk.toml when present).
    #[arg(long, global = true, env = "MEMODESK_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Database URL (sqlite://path.db or postgres://…); overrides MEMODESK_DATABASE_URL and
    /// DATABASE_URL.
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server (migrates the database first).
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage staff users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API keys.
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
    /// Print a signed JWT for a tenant (for integrations and operators).
    Token(TokenArgs),
    /// Export data for a CRM.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Privacy requests about one customer.
    #[command(subcommand)]
    Lead(LeadCommand),
    /// Data retention.
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// The search index.
    #[command(subcommand)]
    Search(SearchCommand),
}

#[derive(Subcommand, Debug)]
pub enum SearchCommand {
    /// Index records written before search existed (and, on SQLite, give back the terms of
    /// entries an upgrade renumbered) and, with an embedder configured, give every record a
    /// vector of the current model. Small transactions; safe to stop and run again (it carries
    /// on where it stopped) while the server runs.
    Reindex {
        /// Only this tenant.
        #[arg(long)]
        tenant: Option<Uuid>,
    },
}

#[derive(Subcommand, Debug)]
pub enum ExportCommand {
    /// Write the leads that changed after a cursor (all leads without one) to a file, in a
    /// CRM's import shape; print the cursor for the next export.
    Leads(ExportLeadsArgs),
}

#[derive(Args, Debug)]
pub struct ExportLeadsArgs {
    /// Tenant id.
    #[arg(long)]
    pub tenant: Uuid,
    /// csv, hubspot or salesforce.
    #[arg(long, default_value = "csv")]
    pub format: String,
    /// The cursor the previous export printed; omit for every lead.
    #[arg(long)]
    pub after: Option<String>,
    /// Salesforce only: lead (default), task (summaries) or erased.
    #[arg(long)]
    pub object: Option<String>,
    /// CSV: start with a UTF-8 byte order mark (for Excel).
    #[arg(long)]
    pub bom: bool,
    /// CSV: add a `<field>_source` column per profile field.
    #[arg(long)]
    pub provenance: bool,
    /// Where to write.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

#[derive(Subcommand, Debug)]
pub enum RetentionCommand {
    /// Delete what is past each tenant's retention now (the server also does it daily):
    /// messages, summaries, audit entries, and conversations left empty.
    Run {
        /// Only this tenant.
        #[arg(long)]
        tenant: Option<Uuid>,
    },
}

#[derive(Subcommand, Debug)]
pub enum LeadCommand {
    /// Erase a customer and everything held about them (cannot be undone); prints what was
    /// removed. Recorded in the audit log as done by the operator (`system`).
    Erase {
        /// Tenant id.
        #[arg(long)]
        tenant: Uuid,
        /// The lead's id.
        #[arg(long)]
        lead: Uuid,
        /// Why (e.g. "customer request by email, ticket 123").
        #[arg(long)]
        reason: String,
    },
    /// Write everything held about a customer (subject access export) to a ZIP file.
    /// Recorded in the audit log as done by the operator (`system`).
    Export {
        /// Tenant id.
        #[arg(long)]
        tenant: Uuid,
        /// The lead's id.
        #[arg(long)]
        lead: Uuid,
        /// The ZIP file to write.
        #[arg(long, value_name = "FILE")]
        out: std::path::PathBuf,
    },
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080, or MEMODESK_ADDR].
    #[arg(long, value_name = "HOST:PORT")]
    pub addr: Option<SocketAddr>,
    /// On an empty database, create a demo tenant, an admin and sample conversations; every
    /// time, print where the dashboard is and how to sign in.
    #[arg(long)]
    pub demo: bool,
}

#[derive(Subcommand, Debug)]
pub enum TenantCommand {
    /// Create a tenant and print its id.
    Create {
        /// The business's name (at most 200 characters).
        #[arg(long, value_parser = text::<200>)]
        name: String,
    },
    /// List tenants: id, name, created.
    List,
}

/// Which staff user: the tenant and the user's login email.
#[derive(Args, Debug)]
pub struct UserRef {
    /// Tenant id (`memodesk tenant list`).
    #[arg(long)]
    pub tenant: Uuid,
    /// The user's login email.
    #[arg(long, value_parser = text::<200>)]
    pub email: String,
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a staff user (password from --password or standard input) and print its id.
    Create {
        #[command(flatten)]
        user: UserRef,
        /// What the user may do: admin, agent or viewer.
        #[arg(long, value_parser = parse_role)]
        role: StaffRole,
        /// The password (at least 8 characters); read from standard input when omitted.
        #[arg(long, value_parser = text::<1000>)]
        password: Option<String>,
        /// Name shown on notes (at most 200 characters).
        #[arg(long, value_parser = text::<200>)]
        display_name: Option<String>,
    },
    /// List a tenant's staff users: id, email, role, active.
    List {
        /// Tenant id.
        #[arg(long)]
        tenant: Uuid,
    },
    /// Set a user's password (e.g. a locked-out admin's); read from standard input when
    /// --password is omitted.
    SetPassword {
        #[command(flatten)]
        user: UserRef,
        /// The new password (at least 8 characters).
        #[arg(long, value_parser = text::<1000>)]
        password: Option<String>,
    },
    /// Give a user another role; it applies to their next request.
    SetRole {
        #[command(flatten)]
        user: UserRef,
        /// admin, agent or viewer.
        #[arg(long, value_parser = parse_role)]
        role: StaffRole,
    },
    /// Deactivate a user: no sign-in, no request, no live stream.
    Deactivate {
        #[command(flatten)]
        user: UserRef,
    },
    /// Let a deactivated user in again.
    Reactivate {
        #[command(flatten)]
        user: UserRef,
    },
}

#[derive(Subcommand, Debug)]
pub enum ApiKeyCommand {
    /// Create an API key and print it (once).
    Create {
        /// Tenant id.
        #[arg(long)]
        tenant: Uuid,
        /// Comma-separated: ingest, read, export.
        #[arg(long, value_delimiter = ',', value_parser = parse_scope, required = true)]
        scopes: Vec<ApiScope>,
        /// What the key is for (at most 200 characters).
        #[arg(long, default_value = "cli", value_parser = text::<200>)]
        name: String,
    },
    /// List a tenant's API keys: id, name, scopes, last used, revoked.
    List {
        /// Tenant id.
        #[arg(long)]
        tenant: Uuid,
    },
    /// Revoke an API key: its requests are refused from now on.
    Revoke {
        /// Tenant id.
        #[arg(long)]
        tenant: Uuid,
        /// The key's id (`memodesk api-key list`).
        #[arg(long)]
        id: Uuid,
    },
}

#[derive(Args, Debug)]
pub struct TokenArgs {
    /// Tenant id.
    #[arg(long)]
    pub tenant: Uuid,
    /// admin, agent or viewer.
    #[arg(long, value_parser = parse_role)]
    pub role: StaffRole,
    /// Lifetime, e.g. 30m, 1h, 7d.
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    pub ttl: std::time::Duration,
    /// The token's subject (shown in audit entries).
    #[arg(long, default_value = "cli", value_parser = text::<200>)]
    pub subject: String,
}

/// Free text from the command line, cleaned and bounded as the API does it
/// (`domain::free_text`), so a value set here means the same as one sent over GraphQL.
fn text<const MAX: usize>(raw: &str) -> Result<String, String> {
    let cleaned = free_text::clean(raw);
    let length = free_text::length(&cleaned.text);
    if length > MAX {
        return Err(free_text::too_long(length, MAX));
    }
    Ok(cleaned.text.into_owned())
}

fn parse_role(text: &str) -> Result<StaffRole, String> {
    StaffRole::parse(&text.to_ascii_lowercase())
        .ok_or_else(|| format!("`{text}` is not a role: use admin, agent or viewer"))
}

fn parse_scope(text: &str) -> Result<ApiScope, String> {
    ApiScope::parse(text.trim().to_ascii_lowercase().as_str())
        .ok_or_else(|| format!("`{text}` is not a scope: use ingest, read or export"))
}

impl Cli {
    /// Settings from file and environment, with this command line on top.
    pub fn settings(&self) -> anyhow::Result<Settings> {
        let mut settings = Settings::load(self.config.as_deref())?;
        if let Some(url) = &self.database_url {
            settings.database_url = Some(url.clone());
        }
        if let Command::Serve(args) = &self.command
            && let Some(addr) = args.addr
        {
            settings.addr = addr;
        }
        Ok(settings)
    }
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Schema = cli.command {
        print!("{}", crate::graphql::sdl());
        return Ok(());
    }
    let settings = cli.settings()?;
    match cli.command {
        Command::Schema => Ok(()),
        Command::Serve(args) => {
            let app = App::build(settings).await?;
            if args.demo {
                demo::seed_if_empty(app.state(), app.ingest(), app.local_addr()?).await?;
            }
            app.run().await
        }
        Command::Migrate => {
            let db = Db::connect(&settings.database_url(), PoolOptions::default()).await?;
            db.migrate().await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Tenant(command) => tenant_command(settings, command).await,
        Command::User(command) => user_command(settings, command).await,
        Command::ApiKey(command) => api_key_command(settings, command).await,
        Command::Export(ExportCommand::Leads(args)) => export_leads(settings, args).await,
        Command::Lead(command) => lead_command(settings, command).await,
        Command::Retention(RetentionCommand::Run { tenant }) => {
            let state = build_state(settings, AppOptions::default()).await?;
            if let Some(tenant) = tenant {
                ensure_tenant(&state, tenant).await?;
            }
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {pos} rows deleted ({per_sec})")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            let progress = {
                let bar = bar.clone();
                move |n: u64| bar.set_position(n)
            };
            let report = services::privacy::retention::run(&state, tenant, &progress)
                .await
                .map_err(describe)?;
            bar.finish_and_clear();
            for (tenant, counts) in report {
                let counts: Vec<String> = counts.iter().map(|(t, n)| format!("{t}={n}")).collect();
                let counts = if counts.is_empty() {
                    "nothing to delete".to_owned()
                } else {
                    counts.join(" ")
                };
                println!("{tenant}\t{counts}");
            }
            Ok(())
        }
        Command::Search(SearchCommand::Reindex { tenant }) => {
            let state = build_state(settings, AppOptions::default()).await?;
            if let Some(tenant) = tenant {
                ensure_tenant(&state, tenant).await?;
            }
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            let progress = {
                let bar = bar.clone();
                move |r: services::embeddings::ReindexReport| {
                    bar.set_message(format!("{} indexed, {} embedded", r.indexed, r.embedded));
                }
            };
            let report = services::embeddings::reindex(&state, tenant, &progress)
                .await
                .map_err(describe)?;
            bar.finish_and_clear();
            println!(
                "indexed {} records, embedded {} records{}",
                report.indexed,
                report.embedded,
                match &state.embedder {
                    Some(e) => format!(" with {}", e.model_id()),
                    None => " (no embedder configured)".into(),
                }
            );
            Ok(())
        }
        Command::Token(args) => {
            let state = build_state(settings, AppOptions::default()).await?;
            ensure_tenant(&state, args.tenant).await?;
            let ttl = chrono::Duration::from_std(args.ttl).context("ttl is too long")?;
            let token = state
                .jwt
                .issue(&args.subject, args.tenant, args.role, state.now(), ttl)?;
            println!("{token}");
            Ok(())
        }
    }
}

async fn tenant_command(settings: Settings, command: TenantCommand) -> anyhow::Result<()> {
    let state = build_state(settings, AppOptions::default()).await?;
    match command {
        TenantCommand::Create { name } => {
            let tenant = services::tenants::create(&state.db, &name, state.now())
                .await
                .map_err(describe)?;
            println!("{}", tenant.id);
        }
        TenantCommand::List => {
            for tenant in services::tenants::list(&state.db).await.map_err(describe)? {
                println!(
                    "{}\t{}\t{}",
                    tenant.id,
                    tenant.name,
                    tenant.created_at.format("%Y-%m-%d")
                );
            }
        }
    }
    Ok(())
}

async fn user_command(settings: Settings, command: UserCommand) -> anyhow::Result<()> {
    let state = build_state(settings, AppOptions::default()).await?;
    let update = |user: &UserRef, update: services::users::UserUpdate| {
        let state = state.clone();
        let (tenant, email) = (user.tenant, user.email.clone());
        async move {
            ensure_tenant(&state, tenant).await?;
            let found = services::users::find_by_email(&state.db, tenant, &email)
                .await
                .map_err(describe)?;
            services::users::update(&state, &Actor::system(tenant), found.id, update)
                .await
                .map_err(describe)
        }
    };
    match command {
        UserCommand::Create {
            user,
            role,
            password,
            display_name,
        } => {
            let password = match password {
                Some(p) => p,
                None => read_password()?,
            };
            ensure_tenant(&state, user.tenant).await?;
            let created = services::users::create(
                &state.db,
                user.tenant,
                services::users::NewUser {
                    email: user.email,
                    password,
                    role,
                    display_name,
                },
                state.now(),
            )
            .await
            .map_err(describe)?;
            println!("{}", created.id);
        }
        UserCommand::List { tenant } => {
            ensure_tenant(&state, tenant).await?;
            for user in services::users::list(&state, &Actor::system(tenant))
                .await
                .map_err(describe)?
            {
                let standing = if user.deactivated_at.is_some() {
                    "deactivated"
                } else {
                    "active"
                };
                println!("{}\t{}\t{}\t{standing}", user.id, user.email, user.role);
            }
        }
        UserCommand::SetPassword { user, password } => {
            let password = match password {
                Some(p) => p,
                None => read_password()?,
            };
            ensure_tenant(&state, user.tenant).await?;
            services::users::set_password(
                &state.db,
                user.tenant,
                &user.email,
                password,
                state.now(),
            )
            .await
            .map_err(describe)?;
            println!("password set for {}", user.email);
        }
        UserCommand::SetRole { user, role } => {
            let changes = services::users::UserUpdate {
                role: Some(role),
                ..Default::default()
            };
            let updated = update(&user, changes).await?;
            println!("{} is now {}", updated.email, updated.role);
        }
        UserCommand::Deactivate { user } => {
            let changes = services::users::UserUpdate {
                active: Some(false),
                ..Default::default()
            };
            let updated = update(&user, changes).await?;
            println!("{} is deactivated", updated.email);
        }
        UserCommand::Reactivate { user } => {
            let changes = services::users::UserUpdate {
                active: Some(true),
                ..Default::default()
            };
            let updated = update(&user, changes).await?;
            println!("{} may sign in again", updated.email);
        }
    }
    Ok(())
}

async fn api_key_command(settings: Settings, command: ApiKeyCommand) -> anyhow::Result<()> {
    let state = build_state(settings, AppOptions::default()).await?;
    match command {
        ApiKeyCommand::Create {
            tenant,
            scopes,
            name,
        } => {
            ensure_tenant(&state, tenant).await?;
            let (_, token) =
                services::api_keys::create(&state.db, tenant, &name, &scopes, None, state.now())
                    .await
                    .map_err(describe)?;
            println!("{token}");
        }
        ApiKeyCommand::List { tenant } => {
            ensure_tenant(&state, tenant).await?;
            for key in services::api_keys::list(&state, &Actor::system(tenant))
                .await
                .map_err(describe)?
            {
                let scopes: Vec<String> =
                    serde_json::from_value(key.scopes.clone()).unwrap_or_default();
                let used = key.last_used_at.map_or_else(
                    || "never used".to_owned(),
                    |at| format!("used {}", at.format("%Y-%m-%d %H:%M")),
                );
                let revoked = key.revoked_at.map_or_else(String::new, |at| {
                    format!("\trevoked {}", at.format("%Y-%m-%d"))
                });
                println!(
                    "{}\t{}\t{}\t{used}{revoked}",
                    key.id,
                    key.name,
                    scopes.join(",")
                );
            }
        }
        ApiKeyCommand::Revoke { tenant, id } => {
            ensure_tenant(&state, tenant).await?;
            let (key, revoked) =
                services::api_keys::revoke_in(&state.db, &Actor::system(tenant), id, state.now())
                    .await
                    .map_err(describe)?;
            if revoked {
                println!("revoked {} ({})", key.id, key.name);
            } else {
                println!("{} ({}) was already revoked", key.id, key.name);
            }
        }
    }
    Ok(())
}

async fn export_leads(settings: Settings, args: ExportLeadsArgs) -> anyhow::Result<()> {
    use tokio::io::AsyncWriteExt;

    let state = build_state(settings, AppOptions::default()).await?;
    ensure_tenant(&state, args.tenant).await?;
    let request = services::export::ExportRequest {
        format: Some(args.format),
        after: args.after,
        bom: args.bom,
        provenance: args.provenance,
        object: args.object,
    };
    let mut export = services::export::start(&state, &Actor::system(args.tenant), request)
        .await
        .map_err(describe)?;
    let bar = indicatif::ProgressBar::new(export.estimated_leads);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {pos}/{len} leads [{bar:30}] {per_sec} {eta}",
        )?
        .progress_chars("=> "),
    );
    // Write beside the target and rename at the end: a failed export leaves no partial file.
    let partial = args.out.with_extension("partial");
    let mut file = tokio::io::BufWriter::new(
        tokio::fs::File::create(&partial)
            .await
            .with_context(|| format!("cannot create {}", partial.display()))?,
    );
    while let Some(chunk) = export.chunks.recv().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(err) => {
                let _ = tokio::fs::remove_file(&partial).await;
                return Err(describe(err));
            }
        };
        file.write_all(&chunk.bytes).await?;
        bar.inc(chunk.leads as u64);
    }
    file.flush().await?;
    drop(file);
    tokio::fs::rename(&partial, &args.out).await?;
    bar.finish_and_clear();
    eprintln!("wrote {} leads to {}", bar.position(), args.out.display());
    eprintln!("next export: --after {}", export.next_cursor);
    println!("{}", export.next_cursor);
    Ok(())
}

async fn lead_command(settings: Settings, command: LeadCommand) -> anyhow::Result<()> {
    let state = build_state(settings, AppOptions::default()).await?;
    match command {
        LeadCommand::Erase {
            tenant,
            lead,
            reason,
        } => {
            ensure_tenant(&state, tenant).await?;
            let report = services::privacy::erasure::erase_lead(
                &state,
                &Actor::system(tenant),
                lead,
                &reason,
            )
            .await
            .map_err(describe)?;
            println!(
                "erased lead {} (tombstone {})",
                report.lead_id, report.erasure_id
            );
            for (table, rows) in &report.counts {
                println!("{table}\t{rows}");
            }
        }
        LeadCommand::Export { tenant, lead, out } => {
            ensure_tenant(&state, tenant).await?;
            // Written beside the target and renamed, so a failed export leaves no half file.
            let partial = out.with_extension("zip.partial");
            let file = std::fs::File::create(&partial)?;
            let written = services::privacy::subject_export::write(
                &state,
                &Actor::system(tenant),
                lead,
                file,
            )
            .await;
            let file = match written {
                Ok(file) => file,
                Err(err) => {
                    let _ = std::fs::remove_file(&partial);
                    return Err(describe(err));
                }
            };
            file.sync_all()?;
            drop(file);
            std::fs::rename(&partial, &out)?;
            eprintln!("wrote the export of lead {lead} to {}", out.display());
        }
    }
    Ok(())
}

fn describe(err: crate::error::AppError) -> anyhow::Error {
    anyhow::anyhow!(err.describe())
}

async fn ensure_tenant(state: &crate::state::AppState, tenant: Uuid) -> anyhow::Result<()> {
    state
        .tenants
        .get(state.db.reader(), tenant)
        .await
        .map_err(|_| anyhow::anyhow!("tenant {tenant} does not exist"))?;
    Ok(())
}

/// A password from the terminal (hidden) or the first line of piped standard input.
fn read_password() -> anyhow::Result<String> {
    let password = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("Password: ")?
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    let password = text::<1000>(&password).map_err(|e| anyhow::anyhow!("the password {e}"))?;
    if password.is_empty() {
        bail!("no password given: pass --password or pipe it on standard input");
    }
    Ok(password)
}
