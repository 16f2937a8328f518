//! The command line: `serve`, `migrate`, `schema`, and the admin commands.

mod demo;

use std::io::{BufRead, IsTerminal};
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use uuid::Uuid;

use crate::app::{App, AppOptions, build_state};
use crate::config::Settings;
use crate::db::{Db, PoolOptions};
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
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, value_name = "HOST:PORT")]
    pub addr: Option<SocketAddr>,
    /// On an empty database, create a demo tenant, an admin and sample conversations.
    #[arg(long)]
    pub demo: bool,
}

#[derive(Subcommand, Debug)]
pub enum TenantCommand {
    /// Create a tenant and print its id.
    Create {
        /// The business's name.
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a staff user (password from --password or standard input).
    Create {
        /// Tenant id.
        #[arg(long)]
        tenant: Uuid,
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = parse_role)]
        role: StaffRole,
        /// The password; read from standard input when omitted.
        #[arg(long)]
        password: Option<String>,
        /// Name shown on notes.
        #[arg(long)]
        display_name: Option<String>,
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
        /// What the key is for.
        #[arg(long, default_value = "cli")]
        name: String,
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
    #[arg(long, default_value = "cli")]
    pub subject: String,
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
        Command::Tenant(TenantCommand::Create { name }) => {
            let state = build_state(settings, AppOptions::default()).await?;
            let tenant = services::tenants::create(&state.db, &name, state.now())
                .await
                .map_err(|e| anyhow::anyhow!(e.describe()))?;
            println!("{}", tenant.id);
            Ok(())
        }
        Command::User(UserCommand::Create {
            tenant,
            email,
            role,
            password,
            display_name,
        }) => {
            let password = match password {
                Some(p) => p,
                None => read_password()?,
            };
            let state = build_state(settings, AppOptions::default()).await?;
            ensure_tenant(&state, tenant).await?;
            let user = services::users::create(
                &state.db,
                tenant,
                services::users::NewUser {
                    email,
                    password,
                    role,
                    display_name,
                },
                state.now(),
            )
            .await
            .map_err(|e| anyhow::anyhow!(e.describe()))?;
            println!("{}", user.id);
            Ok(())
        }
        Command::ApiKey(ApiKeyCommand::Create {
            tenant,
            scopes,
            name,
        }) => {
            let state = build_state(settings, AppOptions::default()).await?;
            ensure_tenant(&state, tenant).await?;
            let (_, token) =
                services::api_keys::create(&state.db, tenant, &name, &scopes, None, state.now())
                    .await
                    .map_err(|e| anyhow::anyhow!(e.describe()))?;
            println!("{token}");
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
    if password.is_empty() {
        bail!("no password given: pass --password or pipe it on standard input");
    }
    Ok(password)
}
