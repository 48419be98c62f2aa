//! The job queue: workers claim jobs under a lease, report progress, and finish them.
//!
//! A claimed job is `running` under its worker's lease until `lease_expires_at`. A worker that
//! stops renewing the lease (it crashed) loses the job: the next claim takes it over, counting
//! another attempt. A job out of attempts fails instead of running again.

use onair_domain::{AssetId, Job, JobId, JobKind, JobState, Ticks, Timestamp};
use sqlx::any::AnyRow;

use crate::Store;
use crate::connect::Backend;
use crate::error::StoreError;
use crate::rows::{int, optional_text, text, uint};

/// The columns [`job_from_row`] reads, as a literal for `concat!`.
macro_rules! job_columns {
    () => {
        "id, kind, state, payload, progress_percent, attempts, error, created_at, updated_at"
    };
}

/// Takes the oldest claimable job: queued, or running under an expired lease, with attempts
/// left. `$1` worker, `$2` lease end, `$3` now. SQLite runs one write at a time, so the single
/// statement is atomic; PostgreSQL locks the chosen row and skips rows other claims hold.
macro_rules! claim_sql {
    ($lock:literal) => {
        concat!(
            "UPDATE jobs SET state = 'running', worker = $1, attempts = attempts + 1, progress_percent = 0, \
             lease_expires_at = $2, updated_at = $3 \
             WHERE id = (SELECT id FROM jobs \
                         WHERE (state = 'queued' OR (state = 'running' AND lease_expires_at <= $3)) \
                           AND attempts < max_attempts \
                         ORDER BY id LIMIT 1",
            $lock,
            ") RETURNING ",
            job_columns!()
        )
    };
}
const CLAIM_SQLITE: &str = claim_sql!("");
const CLAIM_POSTGRES: &str = claim_sql!(" FOR UPDATE SKIP LOCKED");

impl Store {
    /// Queues a job that may be attempted up to `max_attempts` times.
    pub async fn enqueue_job(
        &self,
        kind: JobKind,
        payload: &str,
        max_attempts: u32,
        now: Timestamp,
    ) -> Result<JobId, StoreError> {
        if max_attempts == 0 {
            return Err(StoreError::Invalid(
                "a job needs at least one attempt: max_attempts is 0".to_owned(),
            ));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO jobs (kind, state, payload, max_attempts, created_at, updated_at) \
             VALUES ($1, 'queued', $2, $3, $4, $4) RETURNING id",
        )
        .bind(kind.as_str())
        .bind(payload)
        .bind(i64::from(max_attempts))
        .bind(now.0)
        .fetch_one(&self.pool)
        .await?;
        Ok(JobId(id))
    }

    pub async fn job(&self, id: JobId) -> Result<Option<Job>, StoreError> {
        let sql = concat!("SELECT ", job_columns!(), " FROM jobs WHERE id = $1");
        let row = sqlx::query(sql)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// The latest `limit` jobs, newest first.
    pub async fn recent_jobs(&self, limit: u32) -> Result<Vec<Job>, StoreError> {
        let sql = concat!(
            "SELECT ",
            job_columns!(),
            " FROM jobs ORDER BY id DESC LIMIT $1"
        );
        let rows = sqlx::query(sql)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(job_from_row).collect()
    }

    /// The jobs queued or running, oldest first: what the farm is working on.
    pub async fn active_jobs(&self) -> Result<Vec<Job>, StoreError> {
        let sql = concat!(
            "SELECT ",
            job_columns!(),
            " FROM jobs WHERE state IN ('queued', 'running') ORDER BY id"
        );
        let rows = sqlx::query(sql).fetch_all(&self.pool).await?;
        rows.iter().map(job_from_row).collect()
    }

    /// The last lines of output the job's worker reported.
    pub async fn job_log_tail(&self, id: JobId) -> Result<String, StoreError> {
        let row = sqlx::query("SELECT log_tail FROM jobs WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => text(&row, "log_tail"),
            None => Err(StoreError::NotFound(format!("job {}", id.0))),
        }
    }

    /// Claims the oldest job that is queued, or running under a lease that expired by `now`,
    /// for `worker` until `now + lease`; counts an attempt. First fails every expired job that
    /// has no attempts left. Concurrent claims never get the same job. `None` when there is
    /// nothing to do.
    pub async fn claim_job(
        &self,
        worker: &str,
        lease: Ticks,
        now: Timestamp,
    ) -> Result<Option<Job>, StoreError> {
        if lease.0 <= 0 {
            return Err(StoreError::Invalid(format!(
                "a job lease must be positive, not {lease}"
            )));
        }
        self.fail_expired_jobs(now).await?;
        let sql = match self.backend() {
            Backend::Sqlite => CLAIM_SQLITE,
            Backend::Postgres => CLAIM_POSTGRES,
        };
        let row = sqlx::query(sql)
            .bind(worker)
            .bind((now + lease).0)
            .bind(now.0)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// Claims job `id` alone, on the same terms as [`Store::claim_job`]: when it is queued, or
    /// running under a lease that expired by `now`, with attempts left. `None` when it cannot be
    /// claimed now (held by a live lease, finished, or missing).
    pub async fn claim_job_by_id(
        &self,
        id: JobId,
        worker: &str,
        lease: Ticks,
        now: Timestamp,
    ) -> Result<Option<Job>, StoreError> {
        if lease.0 <= 0 {
            return Err(StoreError::Invalid(format!(
                "a job lease must be positive, not {lease}"
            )));
        }
        self.fail_expired_jobs(now).await?;
        // One row by its key: atomic on both backends (PostgreSQL re-checks the condition after
        // waiting for a concurrent claim's row lock).
        let sql = concat!(
            "UPDATE jobs SET state = 'running', worker = $1, attempts = attempts + 1, progress_percent = 0, \
             lease_expires_at = $2, updated_at = $3 \
             WHERE id = $4 AND (state = 'queued' OR (state = 'running' AND lease_expires_at <= $3)) \
               AND attempts < max_attempts \
             RETURNING ",
            job_columns!()
        );
        let row = sqlx::query(sql)
            .bind(worker)
            .bind((now + lease).0)
            .bind(now.0)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// Fails every running job whose lease expired by `now` with no attempts left, with a reason
    /// naming its last worker, and returns them (so that the caller can fail what they worked
    /// on). [`Store::claim_job`] does this first too.
    pub async fn fail_expired_jobs(&self, now: Timestamp) -> Result<Vec<Job>, StoreError> {
        let sql = concat!(
            "UPDATE jobs SET state = 'failed', lease_expires_at = NULL, updated_at = $1, \
             error = 'gave up after ' || attempts || ' attempts: the lease of worker ' || COALESCE(worker, '?') \
                     || ' expired before the job finished' \
             WHERE state = 'running' AND lease_expires_at <= $1 AND attempts >= max_attempts \
             RETURNING ",
            job_columns!()
        );
        let rows = sqlx::query(sql).bind(now.0).fetch_all(&self.pool).await?;
        rows.iter().map(job_from_row).collect()
    }

    /// Reports progress on a job `worker` holds and extends its lease to `lease_until`. A
    /// [`StoreError::Conflict`] means the worker no longer holds the job (cancelled, or taken
    /// over after its lease expired) and should stop working on it.
    pub async fn heartbeat_job(
        &self,
        id: JobId,
        worker: &str,
        progress_percent: u8,
        log_tail: &str,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<(), StoreError> {
        let result = sqlx::query(
            "UPDATE jobs SET progress_percent = $3, log_tail = $4, updated_at = $5, lease_expires_at = $6 \
             WHERE id = $1 AND state = 'running' AND worker = $2",
        )
        .bind(id.0)
        .bind(worker)
        .bind(i64::from(progress_percent.min(100)))
        .bind(log_tail)
        .bind(now.0)
        .bind(lease_until.0)
        .execute(&self.pool)
        .await?;
        if result.rows_affected() == 0 {
            return Err(self.not_held(id, worker).await);
        }
        Ok(())
    }

    /// Ends `worker`'s attempt at a job. `Ok` succeeds it; `Err(reason)` queues it again if it
    /// has attempts left and fails it otherwise, keeping the reason. Returns the job's new state.
    pub async fn finish_job(
        &self,
        id: JobId,
        worker: &str,
        outcome: Result<(), String>,
        now: Timestamp,
    ) -> Result<JobState, StoreError> {
        let row = match &outcome {
            Ok(()) => {
                sqlx::query(
                    "UPDATE jobs SET state = 'succeeded', progress_percent = 100, error = NULL, \
                     lease_expires_at = NULL, updated_at = $3 \
                     WHERE id = $1 AND state = 'running' AND worker = $2 RETURNING state",
                )
                .bind(id.0)
                .bind(worker)
                .bind(now.0)
                .fetch_optional(&self.pool)
                .await?
            }
            Err(reason) => {
                sqlx::query(
                    "UPDATE jobs SET state = CASE WHEN attempts < max_attempts THEN 'queued' ELSE 'failed' END, \
                     error = $3, lease_expires_at = NULL, updated_at = $4 \
                     WHERE id = $1 AND state = 'running' AND worker = $2 RETURNING state",
                )
                .bind(id.0)
                .bind(worker)
                .bind(reason.as_str())
                .bind(now.0)
                .fetch_optional(&self.pool)
                .await?
            }
        };
        match row {
            Some(row) => parse_job_state(&text(&row, "state")?),
            None => Err(self.not_held(id, worker).await),
        }
    }

    /// Closes a failed attempt of a job `worker` holds and, when that ends the job (`permanent`,
    /// or no attempts left), fails `asset` with the same reason in the same transaction: nobody
    /// sees a failed job whose asset still says processing. Returns the job's new state
    /// (`queued` for another attempt, or `failed`).
    pub async fn fail_job_attempt(
        &self,
        id: JobId,
        worker: &str,
        reason: &str,
        permanent: bool,
        asset: AssetId,
        now: Timestamp,
    ) -> Result<JobState, StoreError> {
        let sql = if permanent {
            "UPDATE jobs SET state = 'failed', error = $3, lease_expires_at = NULL, updated_at = $4 \
             WHERE id = $1 AND state = 'running' AND worker = $2 RETURNING state"
        } else {
            "UPDATE jobs SET state = CASE WHEN attempts < max_attempts THEN 'queued' ELSE 'failed' END, \
             error = $3, lease_expires_at = NULL, updated_at = $4 \
             WHERE id = $1 AND state = 'running' AND worker = $2 RETURNING state"
        };
        let mut transaction = self.begin_write().await?;
        let row = sqlx::query(sql)
            .bind(id.0)
            .bind(worker)
            .bind(reason)
            .bind(now.0)
            .fetch_optional(&mut *transaction)
            .await?;
        let Some(row) = row else {
            drop(transaction);
            return Err(self.not_held(id, worker).await);
        };
        let state = parse_job_state(&text(&row, "state")?)?;
        if state == JobState::Failed {
            sqlx::query(
                "UPDATE assets SET state = 'failed', error = $2 WHERE id = $1 AND state = 'processing'",
            )
            .bind(asset.0)
            .bind(reason)
            .execute(&mut *transaction)
            .await?;
        }
        transaction.commit().await?;
        Ok(state)
    }

    /// Fails a job `worker` holds at once, whatever attempts it has left: for a reason another
    /// attempt cannot change (a corrupt input, a refused URL).
    pub async fn give_up_job(
        &self,
        id: JobId,
        worker: &str,
        reason: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let result = sqlx::query(
            "UPDATE jobs SET state = 'failed', error = $3, lease_expires_at = NULL, updated_at = $4 \
             WHERE id = $1 AND state = 'running' AND worker = $2",
        )
        .bind(id.0)
        .bind(worker)
        .bind(reason)
        .bind(now.0)
        .execute(&self.pool)
        .await?;
        if result.rows_affected() == 0 {
            return Err(self.not_held(id, worker).await);
        }
        Ok(())
    }

    /// Hands a job `worker` holds back to the queue without counting the attempt, e.g. when the
    /// worker shuts down before finishing it.
    pub async fn release_job(
        &self,
        id: JobId,
        worker: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let result = sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = attempts - 1, progress_percent = 0, \
             worker = NULL, lease_expires_at = NULL, updated_at = $3 \
             WHERE id = $1 AND state = 'running' AND worker = $2 AND attempts > 0",
        )
        .bind(id.0)
        .bind(worker)
        .bind(now.0)
        .execute(&self.pool)
        .await?;
        if result.rows_affected() == 0 {
            return Err(self.not_held(id, worker).await);
        }
        Ok(())
    }

    /// Cancels a queued or running job. Its worker learns at its next heartbeat.
    pub async fn cancel_job(&self, id: JobId, now: Timestamp) -> Result<(), StoreError> {
        let result = sqlx::query(
            "UPDATE jobs SET state = 'cancelled', lease_expires_at = NULL, updated_at = $2 \
             WHERE id = $1 AND state IN ('queued', 'running')",
        )
        .bind(id.0)
        .bind(now.0)
        .execute(&self.pool)
        .await?;
        if result.rows_affected() == 0 {
            return Err(match self.job(id).await? {
                None => StoreError::NotFound(format!("job {}", id.0)),
                Some(job) => StoreError::Conflict(format!(
                    "job {} is already {}: only a queued or running job can be cancelled",
                    id.0,
                    job.state.as_str()
                )),
            });
        }
        Ok(())
    }

    /// Why `worker` could not update job `id`.
    async fn not_held(&self, id: JobId, worker: &str) -> StoreError {
        let row = sqlx::query("SELECT state, worker FROM jobs WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await;
        let row = match row {
            Ok(Some(row)) => row,
            Ok(None) => return StoreError::NotFound(format!("job {}", id.0)),
            Err(error) => return StoreError::Database(error),
        };
        let state = text(&row, "state").unwrap_or_default();
        let holder = optional_text(&row, "worker").ok().flatten();
        match holder {
            Some(holder) if state == JobState::Running.as_str() => StoreError::Conflict(format!(
                "job {} is held by worker {holder:?}, not {worker:?}: its lease was taken over",
                id.0
            )),
            _ => StoreError::Conflict(format!(
                "job {} is {state}, not running under worker {worker:?}",
                id.0
            )),
        }
    }
}

fn parse_job_state(text: &str) -> Result<JobState, StoreError> {
    JobState::parse(text)
        .ok_or_else(|| StoreError::Invalid(format!("unknown job state {text:?} in the database")))
}

fn job_from_row(row: &AnyRow) -> Result<Job, StoreError> {
    let kind_text = text(row, "kind")?;
    let kind = JobKind::parse(&kind_text).ok_or_else(|| {
        StoreError::Invalid(format!("unknown job kind {kind_text:?} in the database"))
    })?;
    let progress = int(row, "progress_percent")?;
    Ok(Job {
        id: JobId(int(row, "id")?),
        kind,
        state: parse_job_state(&text(row, "state")?)?,
        payload: text(row, "payload")?,
        progress_percent: progress.clamp(0, 100) as u8,
        attempts: uint(row, "attempts")?,
        error: optional_text(row, "error")?,
        created_at: Timestamp(int(row, "created_at")?),
        updated_at: Timestamp(int(row, "updated_at")?),
    })
}
