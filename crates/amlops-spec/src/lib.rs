//! az ml CLI v2 YAML to Azure ML REST request bodies, matching the official SDK.
