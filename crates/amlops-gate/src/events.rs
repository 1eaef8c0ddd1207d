//! The gate's lifecycle events (`drift.detected`, `gate.passed`, `gate.failed`) through `amlops-events`.

use amlops_events::{AssetKind, AssetRef, Event, EventOutcome, WorkspaceInfo};

use crate::gate::{GateMode, GateReport, Resolved, event_metrics};
use crate::inputs::WorkspaceInputs;

/// The workspace recorded in events.
pub fn workspace_info(workspace: Option<&WorkspaceInputs>) -> Option<WorkspaceInfo> {
    let w = workspace?;
    Some(WorkspaceInfo {
        name: w.workspace.clone(),
        resource_group: Some(w.resource_group.clone()),
        subscription_id: w.connection.subscription_id.clone(),
        ..WorkspaceInfo::default()
    })
}

fn resolved_asset(r: &Resolved) -> AssetRef {
    match (&r.model, &r.job) {
        (Some(m), _) => {
            let asset = AssetRef::model(&m.name, &m.version);
            match &m.id {
                Some(id) => asset.with_id(id),
                None => asset,
            }
        }
        (None, Some(job)) => AssetRef::job(job),
        (None, None) => AssetRef::new(AssetKind::Unknown("gate".into()), &r.description),
    }
}

/// The asset a gate event is about: the candidate, else the target data.
fn gate_asset(report: &GateReport) -> AssetRef {
    if let Some(c) = &report.candidate {
        return resolved_asset(c);
    }
    match &report.drift {
        Some(d) => AssetRef::new(AssetKind::Data, &d.target),
        None => AssetRef::new(AssetKind::Unknown("gate".into()), "gate"),
    }
}

/// The events of a finished evaluation, in emission order: `drift.detected` when a column drifted, then
/// `gate.passed` or `gate.failed` (outcome `warned` in warn mode).
pub fn gate_events(report: &GateReport) -> Vec<Event> {
    let mut events = Vec::new();
    let failed_rules: Vec<String> = report.failed_rules().iter().map(|r| r.rule.clone()).collect();
    let drifted = report.drifted_columns();
    if let Some(d) = &report.drift
        && !drifted.is_empty()
    {
        let mut e = Event::drift_detected(
            AssetRef::new(AssetKind::Data, &d.target),
            format!("drifted columns: {}", drifted.join(", ")),
        )
        .asset(AssetRef::new(AssetKind::Data, &d.baseline))
        .detail("driftedColumns", drifted.clone())
        .detail("baseline", d.baseline.clone())
        .detail("target", d.target.clone());
        for c in d.report.columns.iter().filter(|c| c.drifted()) {
            for m in c.metrics.iter().filter(|m| m.drift == Some(true)) {
                e = e.metric(format!("{}.{}", c.name, m.metric.as_str()), m.value);
            }
        }
        events.push(e);
    }
    let asset = gate_asset(report);
    let mut gate = if report.passed() {
        Event::gate_passed(asset).message(report.headline())
    } else {
        let e = Event::gate_failed(asset, report.headline());
        if report.mode == GateMode::Warn {
            e.outcome(EventOutcome::Warned)
        } else {
            e
        }
    };
    if let Some(c) = report.champion.as_ref() {
        gate = gate.asset(resolved_asset(c));
    }
    gate = gate
        .metrics(event_metrics(report))
        .detail("mode", report.mode.as_str())
        .detail(
            "rules",
            report.rules.iter().map(|r| r.rule.clone()).collect::<Vec<_>>(),
        )
        .detail("failedRules", failed_rules)
        .detail("driftedColumns", drifted);
    events.push(gate);
    events
}
