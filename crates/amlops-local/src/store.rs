//! Persistence: JSON records by kind and key, written through to `<state>/db/<kind>/<key>.json`, and blob
//! contents in `<state>/blobs/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::LocalError;

/// Record kinds.
pub(crate) mod kind {
    pub const JOBS: &str = "jobs";
    pub const ENDPOINTS: &str = "online-endpoints";
    pub const ENDPOINT_KEYS: &str = "online-endpoint-keys";
    pub const DEPLOYMENTS: &str = "online-deployments";
    pub const SCHEDULES: &str = "schedules";
    pub const OPERATIONS: &str = "operations";
    pub const BLOBS: &str = "blobs";
    pub const MLFLOW_RUNS: &str = "mlflow-runs";
    pub const MLFLOW_EXPERIMENTS: &str = "mlflow-experiments";
}

/// All records, in memory, written through to disk on every change.
pub(crate) struct Store {
    root: PathBuf,
    data: Mutex<BTreeMap<String, BTreeMap<String, Value>>>,
    /// Woken on every change, so waiters react to state changes instead of polling on a timer.
    changed: tokio::sync::Notify,
}

fn file_name(key: &str) -> String {
    // Keys may be long or hold any character: a readable prefix plus a hash keeps names short and unique.
    let readable: String = key
        .chars()
        .take(60)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let hash = hex::encode(&Sha256::digest(key.as_bytes())[..8]);
    format!("{readable}.{hash}.json")
}

impl Store {
    /// Opens (creating when missing) the store under `state_dir`, loading every record.
    pub fn open(state_dir: &Path) -> Result<Self, LocalError> {
        let root = state_dir.join("db");
        std::fs::create_dir_all(&root).map_err(|e| LocalError::state(&root, e))?;
        let mut data: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
        for entry in std::fs::read_dir(&root).map_err(|e| LocalError::state(&root, e))? {
            let entry = entry.map_err(|e| LocalError::state(&root, e))?;
            let dir = entry.path();
            if !dir.is_dir() {
                continue;
            }
            let kind = entry.file_name().to_string_lossy().into_owned();
            let records = data.entry(kind).or_default();
            for file in std::fs::read_dir(&dir).map_err(|e| LocalError::state(&dir, e))? {
                let path = file.map_err(|e| LocalError::state(&dir, e))?.path();
                if path.extension().is_none_or(|e| e != "json") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).map_err(|e| LocalError::state(&path, e))?;
                let rec: Value = serde_json::from_str(&text).map_err(|source| LocalError::CorruptState {
                    path: path.clone(),
                    source,
                })?;
                let Some(key) = rec.get("key").and_then(Value::as_str) else {
                    continue;
                };
                records.insert(key.to_owned(), rec.get("value").cloned().unwrap_or(Value::Null));
            }
        }
        Ok(Self {
            root,
            data: Mutex::new(data),
            changed: tokio::sync::Notify::new(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, BTreeMap<String, Value>>> {
        self.data
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self, kind: &str, key: &str, value: &Value) -> Result<(), LocalError> {
        let dir = self.root.join(kind);
        std::fs::create_dir_all(&dir).map_err(|e| LocalError::state(&dir, e))?;
        let path = dir.join(file_name(key));
        let tmp = dir.join(format!(".{}.tmp", crate::util::new_id()));
        let text = serde_json::to_vec_pretty(&serde_json::json!({"key": key, "value": value}))
            .map_err(|e| LocalError::state(&path, std::io::Error::other(e)))?;
        std::fs::write(&tmp, text).map_err(|e| LocalError::state(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| LocalError::state(&path, e))
    }

    /// Resolves at the next change of any record. Create it before looking at the state, then await it: a
    /// change in between is not missed.
    pub fn changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.changed.notified()
    }

    pub fn get(&self, kind: &str, key: &str) -> Option<Value> {
        self.lock().get(kind).and_then(|m| m.get(key)).cloned()
    }

    pub fn put(&self, kind: &str, key: &str, value: Value) -> Result<(), LocalError> {
        let mut data = self.lock();
        self.write(kind, key, &value)?;
        data.entry(kind.to_owned())
            .or_default()
            .insert(key.to_owned(), value);
        drop(data);
        self.changed.notify_waiters();
        Ok(())
    }

    /// Applies `f` to the record, if it exists, and persists the result.
    pub fn update<R>(
        &self,
        kind: &str,
        key: &str,
        f: impl FnOnce(&mut Value) -> R,
    ) -> Result<Option<R>, LocalError> {
        let mut data = self.lock();
        let Some(v) = data.get_mut(kind).and_then(|m| m.get_mut(key)) else {
            return Ok(None);
        };
        let r = f(v);
        let v = v.clone();
        self.write(kind, key, &v)?;
        drop(data);
        self.changed.notify_waiters();
        Ok(Some(r))
    }

    pub fn delete(&self, kind: &str, key: &str) -> Result<bool, LocalError> {
        let mut data = self.lock();
        let existed = data.get_mut(kind).and_then(|m| m.remove(key)).is_some();
        if existed {
            let path = self.root.join(kind).join(file_name(key));
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(LocalError::state(&path, e)),
            }
        }
        drop(data);
        if existed {
            self.changed.notify_waiters();
        }
        Ok(existed)
    }

    /// Records of a kind, sorted by key.
    pub fn list(&self, kind: &str) -> Vec<(String, Value)> {
        self.lock()
            .get(kind)
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }

    /// Records of a kind whose key starts with `prefix`, sorted by key.
    pub fn list_prefix(&self, kind: &str, prefix: &str) -> Vec<(String, Value)> {
        self.lock()
            .get(kind)
            .map(|m| {
                m.range(prefix.to_owned()..)
                    .take_while(|(k, _)| k.starts_with(prefix))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }
}
