//! The flow over a fake [`JobApi`] with paused time: timeouts, cancellation and the poll schedule.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use amlops_agent::{
    AzureAuth, AzureEnvironment, AzureRmConnection, CancellationToken, Output, TaskContext, TaskEnv,
    is_canceled,
};
use amlops_azureml::{AzureMlError, ErrorKind};
use amlops_spec::{AssetType, RestRequest, Upload, UploadOutcome};
use amlops_train::api::{JobApi, JobInfo, LogChunk, RunDetails};
use amlops_train::flow::{Train, TrainSettings, WorkspaceRef};
use amlops_train::status::JobStatus;
use amlops_train::{TrainError, TrainInputs};
use async_trait::async_trait;
use serde_json::Value;
use tokio::time::Instant;

#[derive(Default)]
struct Calls {
    gets: Vec<Instant>,
    cancels: Vec<Instant>,
    puts: Vec<String>,
}

/// A job that stays `status` until cancelled.
#[derive(Clone)]
struct FakeApi {
    status: JobStatus,
    calls: Arc<Mutex<Calls>>,
    /// Fire this token while the job PUT is in flight (after it reached the service).
    cancel_during_put: Option<CancellationToken>,
}

impl FakeApi {
    fn new(status: JobStatus) -> Self {
        Self {
            status,
            calls: Arc::default(),
            cancel_during_put: None,
        }
    }

    fn current(&self) -> JobStatus {
        if self.calls.lock().unwrap().cancels.is_empty() {
            self.status.clone()
        } else {
            JobStatus::Canceled
        }
    }
}

#[async_trait]
impl JobApi for FakeApi {
    async fn get_job(&self, name: &str) -> Result<Option<JobInfo>, AzureMlError> {
        let mut calls = self.calls.lock().unwrap();
        if calls.puts.is_empty() {
            return Ok(None);
        }
        calls.gets.push(Instant::now());
        drop(calls);
        Ok(Some(JobInfo {
            name: name.into(),
            status: Some(self.current()),
            ..JobInfo::default()
        }))
    }
    async fn upload(&self, _upload: &Upload) -> Result<UploadOutcome, AzureMlError> {
        Err(AzureMlError::new(
            ErrorKind::InvalidInput,
            "upload",
            "no uploads here",
        ))
    }
    async fn latest_version(&self, _asset: AssetType, _name: &str) -> Result<String, AzureMlError> {
        Ok("1".into())
    }
    async fn send(&self, request: &RestRequest) -> Result<Value, AzureMlError> {
        self.calls.lock().unwrap().puts.push(request.path.clone());
        if let Some(t) = &self.cancel_during_put {
            t.cancel();
            return Err(AzureMlError::canceled("jobs.createOrUpdate"));
        }
        let mut body = request.body.clone();
        body["properties"]["status"] = "NotStarted".into();
        Ok(body)
    }
    async fn cancel_job(&self, _name: &str) -> Result<(), AzureMlError> {
        self.calls.lock().unwrap().cancels.push(Instant::now());
        Ok(())
    }
    async fn run_details(&self, name: &str) -> Result<RunDetails, AzureMlError> {
        Ok(RunDetails {
            run_id: name.into(),
            status: Some(self.current()),
            ..RunDetails::default()
        })
    }
    async fn children(&self, _name: &str) -> Result<Vec<RunDetails>, AzureMlError> {
        Ok(Vec::new())
    }
    async fn read_log(&self, _url: &str, from: u64) -> Result<LogChunk, AzureMlError> {
        Ok(LogChunk {
            start: from,
            bytes: Vec::new(),
        })
    }
    async fn metrics(&self, _run_id: &str) -> Result<Vec<(String, f64)>, AzureMlError> {
        Ok(Vec::new())
    }
}

struct Setup {
    ctx: TaskContext,
    inputs: TrainInputs,
    workspace: WorkspaceRef,
    buffer: amlops_agent::CaptureBuffer,
    _dir: tempfile::TempDir,
}

fn setup(timeout_minutes: u32, cancel_on_timeout: bool) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let job_file = dir.path().join("job.yml");
    std::fs::write(
        &job_file,
        "command: python train.py\nenvironment: azureml:env:1\ncompute: azureml:cpu\n",
    )
    .unwrap();
    let env = TaskEnv::from_map([
        ("BUILD_BUILDID", "42"),
        ("SYSTEM_TASKINSTANCENAME", "Train"),
        ("AGENT_TEMPDIRECTORY", dir.path().to_str().unwrap()),
    ]);
    let (output, buffer) = Output::capture(false);
    let ctx = TaskContext::new(env, output, CancellationToken::new());
    let connection = AzureRmConnection {
        id: "c".into(),
        resource_manager_url: "http://127.0.0.1:1/".into(),
        subscription_id: Some("sub".into()),
        environment: AzureEnvironment::AzureCloud,
        authority: "http://127.0.0.1:1/".into(),
        resource_id: "http://127.0.0.1:1/".into(),
        auth: AzureAuth::None,
    };
    let inputs = TrainInputs {
        connection,
        resource_group: "rg".into(),
        workspace: "ws".into(),
        job_file,
        overrides: Vec::new(),
        job_name: None,
        experiment_name: None,
        wait: true,
        timeout_minutes,
        cancel_on_timeout,
        stream_logs: true,
    };
    let workspace = WorkspaceRef {
        environment: AzureEnvironment::AzureCloud,
        subscription: "sub".into(),
        resource_group: "rg".into(),
        workspace: "ws".into(),
        tenant: None,
    };
    Setup {
        ctx,
        inputs,
        workspace,
        buffer,
        _dir: dir,
    }
}

async fn run(s: &Setup, api: &FakeApi) -> Result<amlops_agent::Outcome, TrainError> {
    let settings = TrainSettings::default();
    Train {
        ctx: &s.ctx,
        inputs: &s.inputs,
        api,
        cleanup: api,
        settings: &settings,
        workspace: &s.workspace,
        events: None,
    }
    .run()
    .await
}

#[tokio::test(start_paused = true)]
async fn timeout_cancels_the_job_and_fails_saying_so() {
    let s = setup(1, true);
    let api = FakeApi::new(JobStatus::Running);
    let start = Instant::now();
    let err = run(&s, &api).await.unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, TrainError::TimedOut { minutes: 1, .. }),
        "{message}"
    );
    assert!(
        message.contains("did not finish within 1 minute(s)")
            && message.contains("cancellation was requested"),
        "{message}"
    );
    assert!(!is_canceled(&err), "a timeout is a failure, not a cancellation");
    let calls = api.calls.lock().unwrap();
    assert_eq!(calls.cancels.len(), 1);
    let at = calls.cancels[0] - start;
    assert!(
        at >= Duration::from_secs(60) && at < Duration::from_secs(61),
        "{at:?}"
    );
    // Adaptive polling: a handful of polls in a minute, not one every 2 s.
    let before: Vec<_> = calls
        .gets
        .iter()
        .filter(|g| **g - start < Duration::from_secs(60))
        .collect();
    assert!((5..=12).contains(&before.len()), "{} polls", before.len());
    let gaps: Vec<Duration> = before.windows(2).map(|w| *w[1] - *w[0]).collect();
    assert!(gaps.windows(2).all(|g| g[0] <= g[1]), "{gaps:?}");
    let text = s.buffer.text();
    assert!(text.contains("status: Canceled"), "{text}");
}

#[tokio::test(start_paused = true)]
async fn timeout_without_cancel_leaves_the_job_running() {
    let s = setup(2, false);
    let api = FakeApi::new(JobStatus::Queued);
    let err = run(&s, &api).await.unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("within 2 minute(s)")
            && message.contains("still running")
            && message.contains("cancelOnTimeout"),
        "{message}"
    );
    assert!(api.calls.lock().unwrap().cancels.is_empty());
}

#[tokio::test(start_paused = true)]
async fn cancellation_requests_the_jobs_cancel_at_once() {
    let s = setup(0, true);
    let api = FakeApi::new(JobStatus::Running);
    let token = s.ctx.cancel.clone();
    let start = Instant::now();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(100)).await;
        token.cancel();
    });
    let err = run(&s, &api).await.unwrap_err();
    assert!(is_canceled(&err), "{err}");
    let calls = api.calls.lock().unwrap();
    assert_eq!(calls.cancels.len(), 1);
    let after_signal = calls.cancels[0] - start - Duration::from_secs(100);
    assert!(after_signal < Duration::from_millis(1), "{after_signal:?}");
    assert!(err.to_string().contains("last status Canceled"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn no_timeout_waits_as_long_as_the_job_runs() {
    let s = setup(0, true);
    let api = FakeApi::new(JobStatus::Completed);
    let outcome = run(&s, &api).await.unwrap();
    assert!(outcome.message.contains("completed"), "{}", outcome.message);
    let text = s.buffer.text();
    assert!(text.contains("jobStatus;isoutput=true;]Completed"), "{text}");
}

#[tokio::test(start_paused = true)]
async fn cancellation_during_the_put_still_cancels_the_job() {
    let s = setup(0, true);
    let mut api = FakeApi::new(JobStatus::Running);
    api.cancel_during_put = Some(s.ctx.cancel.clone());
    let err = run(&s, &api).await.unwrap_err();
    assert!(is_canceled(&err), "{err}");
    let calls = api.calls.lock().unwrap();
    assert_eq!(calls.puts.len(), 1);
    assert_eq!(calls.cancels.len(), 1);
}
