//! Who is calling: JWTs for people and CLI-issued tokens, API keys for machines, passwords for
//! login. The tenant always comes from the credential, never from request arguments.

pub mod actor;
pub mod api_key;
pub mod jwt;
pub mod links;
pub mod login_limiter;
pub mod password;

pub use actor::{Actor, Permission, Principal};
