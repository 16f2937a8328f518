//! Background jobs as admins see them: listing and retrying.

use sea_orm::{ActiveModelTrait, ActiveValue::Set, IntoActiveModel};
use uuid::Uuid;

use crate::auth::{Actor, Permission};
use crate::entities::job;
use crate::error::{AppError, AppResult};
use crate::repo;
use crate::repo::jobs::status;
use crate::repo::pagination::{Page, PageRequest};
use crate::services::audit;
use crate::state::AppState;

pub async fn list(
    state: &AppState,
    actor: &Actor,
    status: Option<&str>,
    kind: Option<&str>,
    request: &PageRequest,
) -> AppResult<Page<job::Model>> {
    actor.require(Permission::ManageJobs)?;
    let rows = repo::jobs::page(state.db.reader(), actor.tenant_id, status, kind, request)
        .await?
        .into_iter()
        .map(|j| (repo::jobs::cursor_of(&j), j))
        .collect();
    Ok(Page::from_rows(request, rows))
}

/// How many jobs [`list`] pages through with the same filter.
pub async fn count(
    state: &AppState,
    actor: &Actor,
    status: Option<&str>,
    kind: Option<&str>,
) -> AppResult<u64> {
    actor.require(Permission::ManageJobs)?;
    Ok(repo::jobs::count(state.db.reader(), actor.tenant_id, status, kind).await?)
}

/// Queues a dead (or finished, or waiting) job to run now with fresh attempts.
pub async fn retry(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<job::Model> {
    actor.require(Permission::ManageJobs)?;
    let job = repo::jobs::find(state.db.writer(), actor.tenant_id, id)
        .await?
        .ok_or(AppError::not_found("job"))?;
    if job.status == status::RUNNING {
        return Err(AppError::Conflict(
            "the job is running; wait for it to finish".into(),
        ));
    }
    let now = state.now();
    let mut active = job.into_active_model();
    active.status = Set(status::PENDING.into());
    active.attempts = Set(0);
    active.run_at = Set(now);
    active.finished_at = Set(None);
    active.updated_at = Set(now);
    let job = active.update(state.db.writer()).await.map_err(|err| {
        let err = AppError::from(err);
        if err.is_conflict() {
            AppError::Conflict("a copy of this job is already waiting to run".into())
        } else {
            err
        }
    })?;
    audit::record(
        state.db.writer(),
        actor,
        "job.retried",
        "job",
        Some(job.id.to_string()),
        serde_json::json!({ "kind": job.kind }),
        now,
    )
    .await?;
    state.jobs_notify.notify_one();
    Ok(job)
}
