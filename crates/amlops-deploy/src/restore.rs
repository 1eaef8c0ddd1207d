//! The split to restore, kept on the endpoint and restored within the agent's grace window.
//!
//! - Before the rollout changes traffic, the endpoint gets the tags [`RESTORE_TAG`] (the live split to restore,
//!   `blue=90 green=10`, as `az ml online-endpoint update --traffic` takes it) and [`RESTORE_MIRROR_TAG`] (the
//!   mirror split). They are cleared when the rollout succeeds or its rollback has restored the split. A step
//!   with `action: restoreTraffic` ([`restore_from_tag`]) restores the split from them, so a pipeline can
//!   guarantee the rollback even when the agent killed the deploying step.
//! - [`RollbackWindow`]: how long the rollback may take: [`amlops_agent::cancel::CLEANUP_WINDOW`] from the
//!   cancellation (the agent kills 10 s after SIGINT), [`FAILURE_ROLLBACK_BUDGET`] after a plain failure (cut to
//!   the clean-up window if the pipeline cancels meanwhile).

use std::collections::BTreeMap;
use std::time::Duration;

use amlops_agent::CancellationToken;
use amlops_agent::cancel::CLEANUP_WINDOW;
use amlops_azureml::AzureMlError;
use amlops_azureml::models::OnlineEndpoint;

use crate::api::DeployApi;
use crate::traffic::{Split, to_rest};

/// The endpoint tag holding the live split to restore (`blue=90 green=10`; empty: no live traffic).
pub const RESTORE_TAG: &str = "amlops.restoreTraffic";

/// The endpoint tag holding the mirror split to restore (same format).
pub const RESTORE_MIRROR_TAG: &str = "amlops.restoreMirrorTraffic";

/// How long a rollback after a failure (not a cancellation) may wait for an operation in flight.
pub const FAILURE_ROLLBACK_BUDGET: Duration = Duration::from_secs(15 * 60);

/// A split as `az ml online-endpoint update --traffic` takes it: `blue=90 green=10` (names sorted).
pub fn format_split(split: &Split) -> String {
    split
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Parse [`format_split`]'s format (spaces or commas between `name=percent` pairs).
pub fn parse_split(text: &str) -> Result<Split, String> {
    let mut out = Split::new();
    for pair in text.split([' ', ',']).map(str::trim).filter(|p| !p.is_empty()) {
        let (name, pct) = pair
            .split_once('=')
            .ok_or_else(|| format!("'{pair}' is not name=percent"))?;
        let pct: u32 = pct
            .trim()
            .parse()
            .map_err(|_| format!("'{pair}': the percentage is not a whole number"))?;
        if pct > 100 || name.trim().is_empty() {
            return Err(format!("'{pair}' is not name=percent with a percentage of 0-100"));
        }
        if pct > 0 {
            out.insert(name.trim().to_ascii_lowercase(), pct);
        }
    }
    let total: u32 = out.values().sum();
    if total > 100 {
        return Err(format!("the percentages add up to {total}, more than 100"));
    }
    Ok(out)
}

/// The split in the `--traffic` argument of the restore command: the split to restore plus `name=0` for every
/// deployment that holds traffic now but should not, so the command sets exactly that split.
fn command_split(restore: &Split, current: &Split) -> String {
    let mut all = restore.clone();
    for name in current.keys() {
        all.entry(name.clone()).or_insert(0);
    }
    format_split(&all)
}

/// Where the endpoint is, for the restore command.
#[derive(Debug, Clone)]
pub struct EndpointRef<'a> {
    /// Subscription.
    pub subscription: &'a str,
    /// Resource group.
    pub resource_group: &'a str,
    /// Workspace.
    pub workspace: &'a str,
    /// Endpoint.
    pub endpoint: &'a str,
}

/// The exact `az ml online-endpoint update` command that restores `traffic` (and `mirror`, when either mirror split
/// is not empty) over the `current` splits (whose names, with any percentage, get `=0` unless restored).
pub fn az_restore_command(
    at: &EndpointRef<'_>,
    traffic: &Split,
    current: &Split,
    mirror: &Split,
    current_mirror: &Split,
) -> String {
    let mut cmd = format!(
        "az ml online-endpoint update --name {} -g {} -w {} --traffic \"{}\"",
        at.endpoint,
        at.resource_group,
        at.workspace,
        command_split(traffic, current)
    );
    if !mirror.is_empty() || current_mirror.values().any(|v| *v > 0) {
        cmd.push_str(&format!(
            " --mirror-traffic \"{}\"",
            command_split(mirror, current_mirror)
        ));
    }
    cmd.push_str(&format!(" --subscription {}", at.subscription));
    cmd
}

/// The endpoint's tags with the restore tags set to `traffic` and `mirror`.
pub fn with_restore_tags(
    tags: Option<&BTreeMap<String, String>>,
    traffic: &Split,
    mirror: &Split,
) -> BTreeMap<String, String> {
    let mut out = tags.cloned().unwrap_or_default();
    out.insert(RESTORE_TAG.into(), format_split(traffic));
    out.insert(RESTORE_MIRROR_TAG.into(), format_split(mirror));
    out
}

/// The endpoint's tags without the restore tags.
pub fn without_restore_tags(tags: Option<&BTreeMap<String, String>>) -> BTreeMap<String, String> {
    let mut out = tags.cloned().unwrap_or_default();
    out.remove(RESTORE_TAG);
    out.remove(RESTORE_MIRROR_TAG);
    out
}

/// The splits the endpoint's restore tags name, if it carries them. An unreadable tag is an error naming it.
pub fn restore_tags(endpoint: &OnlineEndpoint) -> Result<Option<(Split, Split)>, String> {
    let Some(tags) = &endpoint.tags else {
        return Ok(None);
    };
    let Some(traffic) = tags.get(RESTORE_TAG) else {
        return Ok(None);
    };
    let traffic = parse_split(traffic).map_err(|e| format!("the tag {RESTORE_TAG}='{traffic}': {e}"))?;
    let mirror = match tags.get(RESTORE_MIRROR_TAG) {
        Some(m) => parse_split(m).map_err(|e| format!("the tag {RESTORE_MIRROR_TAG}='{m}': {e}"))?,
        None => Split::new(),
    };
    Ok(Some((traffic, mirror)))
}

/// PUT the endpoint back with `traffic` and `mirror` and without the restore tags (one write: the split is restored
/// and the note of it cleared together). `accepted` is called once the service has accepted the write.
pub async fn put_restored(
    api: &dyn DeployApi,
    ep: &str,
    traffic: &Split,
    mirror: &Split,
    accepted: &(dyn Fn() + Send + Sync),
) -> Result<(), AzureMlError> {
    let mut endpoint = api.get_endpoint(ep).await?.ok_or_else(|| {
        AzureMlError::invalid_input("onlineEndpoints.get", format!("the endpoint '{ep}' vanished"))
    })?;
    endpoint.properties.traffic = Some(to_rest(traffic));
    endpoint.properties.mirror_traffic = Some(to_rest(mirror));
    endpoint.tags = Some(without_restore_tags(endpoint.tags.as_ref()));
    api.put_endpoint_observed(ep, &crate::flow::for_put(endpoint), accepted)
        .await?;
    Ok(())
}

/// What [`restore_from_tag`] found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Restored {
    /// The endpoint carries no restore tag: nothing to do.
    NothingPending,
    /// The split was restored (traffic, mirror).
    Restored(Split, Split),
}

/// `action: restoreTraffic`: read the endpoint's restore tags and, if present, PUT that split back (waiting out an
/// operation in flight through the client's conflict policy) and clear the tags.
pub async fn restore_from_tag(api: &dyn DeployApi, ep: &str) -> Result<Restored, RestoreError> {
    let endpoint = api
        .get_endpoint(ep)
        .await
        .map_err(|e| RestoreError::Api(Box::new(e)))?
        .ok_or_else(|| RestoreError::NoEndpoint(ep.to_string()))?;
    let Some((traffic, mirror)) = restore_tags(&endpoint).map_err(RestoreError::BadTag)? else {
        return Ok(Restored::NothingPending);
    };
    put_restored(api, ep, &traffic, &mirror, &|| {})
        .await
        .map_err(|e| RestoreError::Api(Box::new(e)))?;
    Ok(Restored::Restored(traffic, mirror))
}

/// Why [`restore_from_tag`] failed.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// The endpoint does not exist.
    #[error("the endpoint '{0}' does not exist (input 'endpointName')")]
    NoEndpoint(String),
    /// The tag cannot be read.
    #[error("{0}; fix or remove the tag, or restore the traffic with az ml online-endpoint update --traffic")]
    BadTag(String),
    /// A call failed.
    #[error("restoring the traffic failed: {0}")]
    Api(#[source] Box<AzureMlError>),
}

/// How long a rollback may take.
#[derive(Debug, Clone)]
pub struct RollbackWindow {
    /// The clean-up window after a cancellation.
    pub after_cancel: Duration,
    /// The budget after a plain failure.
    pub after_failure: Duration,
}

impl Default for RollbackWindow {
    fn default() -> Self {
        Self {
            after_cancel: CLEANUP_WINDOW,
            after_failure: FAILURE_ROLLBACK_BUDGET,
        }
    }
}

impl RollbackWindow {
    /// Run `work` within the window: `after_cancel` from now when `cancel` has fired, else until `after_failure`
    /// or `after_cancel` after `cancel` fires, whichever ends first. `None` when the window ran out (the work is
    /// dropped).
    pub async fn run<T>(&self, cancel: &CancellationToken, work: impl Future<Output = T>) -> Option<T> {
        self.run_from(tokio::time::Instant::now(), cancel, work).await
    }

    /// [`RollbackWindow::run`] for a window that opened at `start` (several clean-up steps share one window): a
    /// cancellation that had fired by then counts from `start`.
    pub async fn run_from<T>(
        &self,
        start: tokio::time::Instant,
        cancel: &CancellationToken,
        work: impl Future<Output = T>,
    ) -> Option<T> {
        let window = async {
            if cancel.is_cancelled() {
                tokio::time::sleep_until(start + self.after_cancel).await;
                return;
            }
            tokio::select! {
                () = cancel.cancelled() => tokio::time::sleep(self.after_cancel).await,
                () = tokio::time::sleep_until(start + self.after_failure) => {}
            }
        };
        tokio::select! {
            biased;
            r = work => Some(r),
            () = window => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(pairs: &[(&str, u32)]) -> Split {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn splits_round_trip_in_the_cli_format() {
        let s = split(&[("blue", 90), ("green", 10)]);
        assert_eq!(format_split(&s), "blue=90 green=10");
        assert_eq!(parse_split("blue=90 green=10").unwrap(), s);
        assert_eq!(parse_split("Blue=90,green=10, red=0").unwrap(), s);
        assert_eq!(parse_split("").unwrap(), Split::new());
        assert!(parse_split("blue").unwrap_err().contains("name=percent"));
        assert!(parse_split("blue=x").is_err());
        assert!(parse_split("blue=101").is_err());
        assert!(parse_split("blue=60 green=60").unwrap_err().contains("120"));
    }

    #[test]
    fn the_command_sets_exactly_the_split_to_restore() {
        let at = EndpointRef {
            subscription: "sub",
            resource_group: "rg",
            workspace: "ws",
            endpoint: "churn",
        };
        let restore = split(&[("blue", 90), ("green", 10)]);
        let now = split(&[("blue", 50), ("green", 20), ("red", 30)]);
        assert_eq!(
            az_restore_command(&at, &restore, &now, &Split::new(), &Split::new()),
            "az ml online-endpoint update --name churn -g rg -w ws --traffic \"blue=90 green=10 red=0\" \
             --subscription sub"
        );
        let cmd = az_restore_command(
            &at,
            &split(&[("blue", 100)]),
            &split(&[("blue", 100)]),
            &Split::new(),
            &split(&[("red", 20)]),
        );
        assert!(cmd.contains("--mirror-traffic \"red=0\""), "{cmd}");
    }

    #[test]
    fn tags_are_set_read_and_cleared() {
        let mut ep = OnlineEndpoint::new(Default::default());
        assert_eq!(restore_tags(&ep), Ok(None));
        let other: BTreeMap<String, String> = [("team".to_string(), "ml".to_string())].into();
        let tagged = with_restore_tags(Some(&other), &split(&[("blue", 100)]), &split(&[("x", 5)]));
        assert_eq!(tagged["team"], "ml");
        ep.tags = Some(tagged.clone());
        assert_eq!(
            restore_tags(&ep),
            Ok(Some((split(&[("blue", 100)]), split(&[("x", 5)]))))
        );
        assert_eq!(without_restore_tags(Some(&tagged)), other);
        ep.tags = Some([(RESTORE_TAG.to_string(), "blue=lots".to_string())].into());
        assert!(restore_tags(&ep).unwrap_err().contains(RESTORE_TAG));
    }

    #[tokio::test(start_paused = true)]
    async fn the_window_is_the_cleanup_window_after_a_cancellation() {
        let w = RollbackWindow::default();
        let cancel = CancellationToken::new();
        cancel.cancel();
        let start = tokio::time::Instant::now();
        let r = w.run(&cancel, std::future::pending::<()>()).await;
        assert_eq!(r, None);
        assert_eq!(start.elapsed(), CLEANUP_WINDOW);

        // A failure's rollback gets the long budget, cut short by a cancellation arriving meanwhile.
        let cancel = CancellationToken::new();
        let trigger = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(30)).await;
            trigger.cancel();
        });
        let start = tokio::time::Instant::now();
        assert_eq!(w.run(&cancel, std::future::pending::<()>()).await, None);
        assert_eq!(start.elapsed(), Duration::from_secs(30) + CLEANUP_WINDOW);
        assert_eq!(w.run(&CancellationToken::new(), async { 7 }).await, Some(7));
    }
}

/// How the rollback's restore ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreOutcome {
    /// Restored and the operation finished.
    Done,
    /// The service accepted the restore, but the window ended before the operation finished.
    Accepted,
}

impl crate::flow::Deploy<'_> {
    fn endpoint_ref(&self) -> EndpointRef<'_> {
        EndpointRef {
            subscription: &self.workspace.subscription,
            resource_group: &self.settings.resource_group,
            workspace: &self.settings.workspace,
            endpoint: self.settings.endpoint.name(),
        }
    }

    /// Before the first traffic change: tag the endpoint with the split to restore.
    pub(crate) async fn note_restore_split(
        &self,
        ep: &str,
        traffic: &Split,
        mirror: &Split,
    ) -> Result<(), AzureMlError> {
        let endpoint = self.api.get_endpoint(ep).await?.ok_or_else(|| {
            AzureMlError::invalid_input("onlineEndpoints.get", format!("the endpoint '{ep}' vanished"))
        })?;
        if let Ok(Some((pending, _))) = restore_tags(&endpoint) {
            self.out.warning(&format!(
                "The endpoint '{ep}' still carries {RESTORE_TAG}='{}' from an earlier rollout that did not finish; \
                 it is replaced by this rollout's split to restore",
                format_split(&pending)
            ));
        }
        let tags = with_restore_tags(endpoint.tags.as_ref(), traffic, mirror);
        self.api.set_endpoint_tags(ep, &tags).await?;
        self.out.line(&format!(
            "Split to restore noted on the endpoint: {RESTORE_TAG}='{}'",
            format_split(traffic)
        ));
        Ok(())
    }

    /// After the rollout succeeded (or stopped before changing traffic): clear the tag through `api` (a warning when
    /// that fails: traffic is as intended).
    pub(crate) async fn clear_restore_note(&self, api: &dyn DeployApi, ep: &str) {
        let result = async {
            let endpoint = api.get_endpoint(ep).await?;
            if let Some(endpoint) = endpoint.filter(|e| {
                e.tags
                    .as_ref()
                    .is_some_and(|t| t.contains_key(RESTORE_TAG) || t.contains_key(RESTORE_MIRROR_TAG))
            }) {
                api.set_endpoint_tags(ep, &without_restore_tags(endpoint.tags.as_ref()))
                    .await?;
            }
            Ok::<(), AzureMlError>(())
        }
        .await;
        if let Err(e) = result {
            self.out.warning(&format!(
                "The rollout succeeded but the tag {RESTORE_TAG} could not be removed from '{ep}' ({e}); remove it, \
                 or a later 'action: restoreTraffic' step would restore the previous split"
            ));
        }
    }

    /// The rollback's restore: the exact previous split, PUT through the clean-up client (not cancelled with the
    /// task) within the [`RollbackWindow`]: an operation in flight is waited out by the client, then the restore is
    /// issued and waited for. When the window ends first, an error gives the split and the exact command, and the
    /// endpoint keeps its restore tag. `Err` carries the note for the task's error.
    pub(crate) async fn restore_within_window(
        &self,
        started: tokio::time::Instant,
        traffic: &Split,
        mirror: &Split,
        current: &Split,
        current_mirror: &Split,
    ) -> Result<RestoreOutcome, String> {
        let ep = self.settings.endpoint.name();
        let window = RollbackWindow::default();
        let accepted = std::sync::atomic::AtomicBool::new(false);
        let mark = || accepted.store(true, std::sync::atomic::Ordering::SeqCst);
        let result = window
            .run_from(
                started,
                self.cancel,
                put_restored(self.cleanup, ep, traffic, mirror, &mark),
            )
            .await;
        let command = az_restore_command(&self.endpoint_ref(), traffic, current, mirror, current_mirror);
        match result {
            Some(Ok(())) => Ok(RestoreOutcome::Done),
            None if accepted.load(std::sync::atomic::Ordering::SeqCst) => {
                self.out.warning(&format!(
                    "The restore of '{ep}' to {} was accepted; Azure ML is still applying it (the task could not \
                     wait longer). If the traffic is not restored, run: {command}",
                    crate::traffic::describe(traffic)
                ));
                Ok(RestoreOutcome::Accepted)
            }
            other => {
                let why = match other {
                    Some(Err(e)) => format!("{e}"),
                    _ => format!(
                        "the endpoint was still busy after {:.1} s, the longest the agent allows for clean-up \
                         after a cancellation",
                        started.elapsed().as_secs_f64()
                    ),
                };
                self.out.error(&format!(
                    "The traffic of '{ep}' could not be restored ({why}). Restore the split {} ({RESTORE_TAG}='{}' \
                     on the endpoint) with: {command} -- or run AzureMLDeploy with 'action: restoreTraffic' (e.g. \
                     in a step with 'condition: or(canceled(), failed())')",
                    crate::traffic::describe(traffic),
                    format_split(traffic)
                ));
                Err(format!(
                    "the traffic could not be restored to {} ({why}); restore it with: {command}",
                    crate::traffic::describe(traffic)
                ))
            }
        }
    }
}

/// Test harness polling (`AMLOPS_POLL_INTERVAL_MS`): LRO polls and busy-endpoint retries every `poll`.
pub fn fast_polling(config: &mut amlops_azureml::ClientConfig, poll: Duration) {
    config.poll.interval = poll;
    config.poll.max_interval = poll;
    config.conflict.initial_backoff = poll;
    config.conflict.max_backoff = poll;
}

/// Register the panic clean-up: restore the split the endpoint's tag names ([`restore_from_tag`]).
pub fn register_panic_restore(
    ctx: &amlops_agent::TaskContext,
    cleanup: &crate::client_api::ClientDeployApi,
    endpoint: &str,
) -> amlops_agent::CleanupGuard {
    let api = cleanup.clone();
    let ep = endpoint.to_string();
    ctx.cleanup.register(
        format!("restore the traffic of '{ep}' from its {RESTORE_TAG} tag"),
        move || async move {
            match restore_from_tag(&api, &ep).await {
                Ok(Restored::NothingPending) => Ok("no split to restore was pending".to_string()),
                Ok(Restored::Restored(traffic, _)) => Ok(format!(
                    "traffic restored to {}",
                    crate::traffic::describe(&traffic)
                )),
                Err(e) => Err(e.to_string()),
            }
        },
    )
}

/// `action: restoreTraffic`: restore the split an unfinished rollout noted on the endpoint, and clear the note.
pub async fn run_restore(
    ctx: &amlops_agent::TaskContext,
) -> Result<amlops_agent::Outcome, amlops_agent::TaskError> {
    use crate::DeployError;
    let settings = crate::inputs::RestoreSettings::read(&ctx.inputs())?;
    let conn = ctx.azure_rm_connection("azureSubscription")?;
    let mut config = amlops_azureml::ClientConfig::from_connection(
        &conn,
        None,
        &settings.resource_group,
        &settings.workspace,
    )
    .map_err(|e| DeployError::Setup(e.to_string()))?;
    if let Some(poll) = ctx.knobs.poll_interval {
        fast_polling(&mut config, poll);
    }
    let client = amlops_azureml::connect_with(ctx, &conn, config, ctx.cancel.clone())
        .map_err(|e| DeployError::Setup(e.to_string()))?;
    let api = crate::client_api::ClientDeployApi::new(client);
    let ep = &settings.endpoint;
    ctx.output.section(&format!(
        "Restoring the traffic of '{ep}' from its {RESTORE_TAG} tag"
    ));
    match restore_from_tag(&api, ep).await? {
        Restored::NothingPending => {
            let endpoint = api
                .get_endpoint(ep)
                .await
                .map_err(|e| RestoreError::Api(Box::new(e)))?;
            let now = endpoint
                .and_then(|e| e.properties.traffic)
                .map(|t| crate::traffic::normalize(&t))
                .unwrap_or_default();
            ctx.output.set_output("traffic", &crate::traffic::to_json(&now));
            ctx.output.line(&format!(
                "No split to restore is pending on '{ep}' (no {RESTORE_TAG} tag): the last rollout finished or \
                 rolled back. Traffic: {}",
                crate::traffic::describe(&now)
            ));
            Ok(amlops_agent::Outcome::succeeded(format!(
                "nothing to restore on '{ep}'; traffic {}",
                crate::traffic::describe(&now)
            )))
        }
        Restored::Restored(traffic, mirror) => {
            ctx.output
                .set_output("traffic", &crate::traffic::to_json(&traffic));
            ctx.output.line(&format!(
                "Traffic restored: {}; mirror: {}",
                crate::traffic::describe(&traffic),
                crate::traffic::describe(&mirror)
            ));
            Ok(amlops_agent::Outcome::succeeded(format!(
                "traffic of '{ep}' restored to {}",
                crate::traffic::describe(&traffic)
            )))
        }
    }
}
