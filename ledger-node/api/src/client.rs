//! A small client of the node's HTTP API, used by the wallet, the load tool, `status` and the
//! tests. It verifies nothing by itself: callers check proofs with `schemas::light_client`.

use crate::{CertifiedBlock, MAX_RESPONSE_BYTES, NodeStatus, Problem, Proven, RevokedIndexes};
use schemas::hash::Hash;
use schemas::ledger::{LedgerProof, SignedTransaction, TxReceipt};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// Client errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The node could not be reached.
    #[error("cannot reach the node at {url}: {reason}")]
    Unreachable {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The node answered with an error.
    #[error("the node refused ({status}): {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// Its error code.
        code: String,
        /// Its message.
        message: String,
    },
    /// The answer was not what the API documents.
    #[error("unexpected answer from {url}: {reason}")]
    Unexpected {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
}

/// A node's API.
#[derive(Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
}

impl Client {
    /// A client of the node at `base` (e.g. `http://127.0.0.1:26700`).
    pub fn new(base: &str) -> Self {
        Client {
            base: base.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .pool_max_idle_per_host(256)
                .build()
                .unwrap_or_else(|_| reqwest::Client::new()),
        }
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    async fn answer<T: DeserializeOwned>(
        &self,
        url: &str,
        r: Result<reqwest::Response, reqwest::Error>,
    ) -> Result<T, ClientError> {
        let r = r.map_err(|e| ClientError::Unreachable {
            url: url.to_string(),
            reason: e.to_string(),
        })?;
        let status = r.status();
        let bytes = read_bounded(url, r).await?;
        if !status.is_success() {
            return Err(refusal(status, &bytes));
        }
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Unexpected {
            url: url.to_string(),
            reason: e.to_string(),
        })
    }

    /// GETs `path` as JSON.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let url = format!("{}{path}", self.base);
        let r = self.http.get(&url).send().await;
        self.answer(&url, r).await
    }

    /// Uploads a setup ceremony file; returns the digest the node computed.
    pub async fn put_ceremony_file(&self, bytes: Vec<u8>) -> Result<Hash, ClientError> {
        #[derive(Deserialize)]
        struct Stored {
            digest: Hash,
        }
        let url = format!("{}/v1/ceremony/files", self.base);
        // Checking a large file takes the node a few seconds.
        let r = self
            .http
            .post(&url)
            .timeout(Duration::from_secs(300))
            .header("content-type", "application/octet-stream")
            .body(bytes)
            .send()
            .await;
        let s: Stored = self.answer(&url, r).await?;
        Ok(s.digest)
    }

    /// A setup ceremony file by digest (unchecked: the caller compares its digest).
    pub async fn ceremony_file(&self, digest: &Hash) -> Result<Vec<u8>, ClientError> {
        let url = format!("{}/v1/ceremony/files/{digest}", self.base);
        let r = self
            .http
            .get(&url)
            .timeout(Duration::from_secs(300))
            .send()
            .await
            .map_err(|e| ClientError::Unreachable {
                url: url.clone(),
                reason: e.to_string(),
            })?;
        let status = r.status();
        let bytes = read_bounded(&url, r).await?;
        if !status.is_success() {
            return Err(refusal(status, &bytes));
        }
        Ok(bytes)
    }

    /// Submits a transaction; returns its hash.
    pub async fn submit(&self, tx: &SignedTransaction) -> Result<Hash, ClientError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Ack {
            tx_hash: Hash,
        }
        let url = format!("{}/v1/transactions", self.base);
        let r = self.http.post(&url).json(tx).send().await;
        let ack: Ack = self.answer(&url, r).await?;
        Ok(ack.tx_hash)
    }

    /// The receipt of a transaction, if committed.
    pub async fn receipt(&self, tx: &Hash) -> Result<Proven<TxReceipt>, ClientError> {
        self.get(&format!("/v1/transactions/{tx}")).await
    }

    /// Waits until a transaction commits (polling), up to `timeout`.
    pub async fn wait(&self, tx: &Hash, timeout: Duration) -> Result<TxReceipt, ClientError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(r) = self.receipt(tx).await?.value {
                return Ok(r);
            }
            if tokio::time::Instant::now() > deadline {
                return Err(ClientError::Unexpected {
                    url: self.base.clone(),
                    reason: format!("transaction {tx} did not commit within {timeout:?}"),
                });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The block at `height`.
    pub async fn block(&self, height: u64) -> Result<CertifiedBlock, ClientError> {
        self.get(&format!("/v1/blocks/{height}")).await
    }

    /// Reads several state keys at one height under one certificate (`/v1/proofs`).
    pub async fn proofs(&self, keys: &[Vec<u8>]) -> Result<LedgerProof, ClientError> {
        let keys: Vec<String> = keys.iter().map(hex::encode).collect();
        self.get(&format!("/v1/proofs?keys={}", keys.join(","))).await
    }

    /// The validator-set changes after epoch `after` (`/v1/validators/changes`), unverified.
    pub async fn set_changes(&self, after: u64) -> Result<Vec<LedgerProof>, ClientError> {
        self.get(&format!("/v1/validators/changes?after={after}")).await
    }

    /// The revoked indexes of `issuer`'s status list `list` (not proven: check them against
    /// the proven revocation root).
    pub async fn revoked_ids(&self, issuer: &schemas::Did, list: u32) -> Result<RevokedIndexes, ClientError> {
        self.get(&format!("/v1/revoked/{issuer}/{list}/ids")).await
    }

    /// The node's status.
    pub async fn status(&self) -> Result<NodeStatus, ClientError> {
        self.get("/v1/status").await
    }

    /// The next unused nonce of `did`.
    pub async fn next_nonce(&self, did: &schemas::Did) -> Result<u64, ClientError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Account {
            next_nonce: u64,
        }
        let a: Account = self.get(&format!("/v1/accounts/{did}")).await?;
        Ok(a.next_nonce)
    }
}

/// The node's error answer as a [`ClientError::Refused`].
fn refusal(status: reqwest::StatusCode, bytes: &[u8]) -> ClientError {
    let (code, message) = match serde_json::from_slice::<Problem>(bytes) {
        Ok(b) => (b.code, b.detail),
        Err(_) => ("http".into(), String::from_utf8_lossy(bytes).into_owned()),
    };
    ClientError::Refused {
        status: status.as_u16(),
        code,
        message,
    }
}

/// Reads an answer's body, refusing one longer than [`MAX_RESPONSE_BYTES`] before holding it.
async fn read_bounded(url: &str, mut r: reqwest::Response) -> Result<Vec<u8>, ClientError> {
    let too_long = || ClientError::Unexpected {
        url: url.to_string(),
        reason: format!("the answer is longer than {MAX_RESPONSE_BYTES} bytes (MAX_RESPONSE_BYTES)"),
    };
    if r.content_length().is_some_and(|n| n > MAX_RESPONSE_BYTES as u64) {
        return Err(too_long());
    }
    let mut body = Vec::new();
    while let Some(chunk) = r.chunk().await.map_err(|e| ClientError::Unreachable {
        url: url.to_string(),
        reason: e.to_string(),
    })? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(too_long());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    /// The client speaks TLS (rustls) to an `https://` node: the first bytes a listener sees
    /// are a TLS handshake record (content type 22, a ClientHello), not plain HTTP and not a
    /// refusal to try. (Before, the client was built without TLS and refused the scheme.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_https_node_is_reached_over_tls() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let first = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("a connection");
            let mut head = [0u8; 6];
            socket.read_exact(&mut head).await.expect("the first bytes");
            head
        });
        let client = Client::new(&format!("https://{addr}"));
        // The listener never answers the handshake: the request fails, after trying TLS.
        let answer = client.get::<serde_json::Value>("/v1/status").await;
        assert!(answer.is_err());
        let head = tokio::time::timeout(Duration::from_secs(10), first)
            .await
            .expect("the client connected (a client without TLS refuses the scheme)")
            .expect("listener task");
        assert_eq!(head[0], 0x16, "a TLS handshake record");
        assert_eq!(head[5], 0x01, "a ClientHello");
    }
}
