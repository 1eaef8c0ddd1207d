//! The upload answer the rule tests' resolvers give: a code asset `code-1` for code, a
//! `workspaceblobstore` blob under `LocalUpload/h1/` for everything else.

use amlops_spec::{Upload, UploadOutcome};

/// What a fixed workspace answers for `upload`.
pub fn upload_outcome(upload: &Upload) -> UploadOutcome {
    if upload.role.is_code() {
        UploadOutcome::Code {
            name: "code-1".into(),
            version: "1".into(),
            code_uri: "https://acct.blob.core.windows.net/cont/src".into(),
            hash: "abc".into(),
        }
    } else {
        UploadOutcome::Blob {
            datastore: "workspaceblobstore".into(),
            account: "acct".into(),
            container: "cont".into(),
            path: format!("LocalUpload/h1/{}", upload.basename),
            hash: "h1".into(),
        }
    }
}
