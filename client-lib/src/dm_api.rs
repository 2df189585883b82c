//! Typed helpers on [`SogsClient`] for blinded direct messages (CLIENT.md §5): send, read
//! the inbox and outbox, clear the inbox. Encryption is [`crate::dm`]'s.

use crate::blinding::session_id_from_ed25519;
use crate::client::{ClientError, SogsClient};
use crate::dm::{decrypt_blinded_dm, encrypt_blinded_dm};
use crate::encoding::{b64_decode, b64_encode};
use crate::identity::Identity;
use crate::ids::SessionId;
use crate::message::{strip_padding, DecodedMessage, OutgoingMessage};
use serde::Deserialize;

/// A DM as the server lists it (`message` is base64 of the encrypted data).
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Dm {
    pub id: i64,
    pub posted_at: f64,
    pub expires_at: f64,
    pub sender: String,
    pub recipient: String,
    /// Absent in the send response.
    #[serde(default)]
    pub message: Option<String>,
}

/// A decrypted DM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecryptedDm {
    /// The plaintext as the sender encrypted it (a padded `Content` for the apps).
    pub plaintext: Vec<u8>,
    /// The sender's real Session ID (`05…`), from the key inside the message.
    pub sender_session_id: SessionId,
}

impl DecryptedDm {
    /// Decodes the plaintext as the apps' padded `Content` protobuf.
    pub fn decode(&self) -> Result<DecodedMessage, ClientError> {
        DecodedMessage::from_content_bytes(strip_padding(&self.plaintext))
            .map_err(|e| ClientError::Decode(e.to_string()))
    }
}

fn parse_id(s: &str) -> Result<SessionId, ClientError> {
    SessionId::parse(s).map_err(|e| ClientError::Decode(format!("bad id {s}: {e}")))
}

impl Dm {
    /// Decrypts this DM as `me`: an inbox item (we are the recipient) or an outbox item (we
    /// sent it). Checks the embedded sender key blinds to the sender's id.
    pub fn decrypt(&self, me: &Identity, server_pk: &[u8; 32]) -> Result<DecryptedDm, ClientError> {
        let ours = me.blinded15_id(server_pk).to_string();
        let we_sent = self.sender == ours;
        let other = parse_id(if we_sent {
            &self.recipient
        } else {
            &self.sender
        })?;
        let data = self
            .message
            .as_deref()
            .and_then(b64_decode)
            .ok_or_else(|| ClientError::Decode("DM without a base64 message".into()))?;
        let (plaintext, sender_ed) =
            decrypt_blinded_dm(me.ed25519_seed(), &other, server_pk, &data, we_sent)
                .map_err(|e| ClientError::Other(format!("DM decryption: {e}")))?;
        let sender_session_id = session_id_from_ed25519(&sender_ed)
            .map_err(|e| ClientError::Other(format!("DM sender key: {e}")))?;
        Ok(DecryptedDm {
            plaintext,
            sender_session_id,
        })
    }
}

impl SogsClient {
    /// Sends already-encrypted DM data to a blinded id (`POST /inbox/{id}`).
    pub async fn send_dm_data(
        &self,
        recipient: &SessionId,
        data: &[u8],
    ) -> Result<Dm, ClientError> {
        let body = serde_json::json!({ "message": b64_encode(data) });
        self.post_json(&format!("/inbox/{recipient}"), &body)
            .await?
            .ok()?
            .json()
    }

    /// Encrypts `plaintext` from `me` to `recipient` (a `15…` id) and sends it.
    pub async fn send_dm(
        &self,
        me: &Identity,
        recipient: &SessionId,
        plaintext: &[u8],
    ) -> Result<Dm, ClientError> {
        let data = encrypt_blinded_dm(
            me.ed25519_seed(),
            recipient,
            self.server_pubkey(),
            plaintext,
        )
        .map_err(|e| ClientError::Other(format!("DM encryption: {e}")))?;
        self.send_dm_data(recipient, &data).await
    }

    /// Sends a text DM the way the apps do: a padded `Content` with the text, encrypted.
    pub async fn send_dm_text(
        &self,
        me: &Identity,
        recipient: &SessionId,
        text: &str,
        timestamp_ms: u64,
    ) -> Result<Dm, ClientError> {
        let plaintext = OutgoingMessage::text(text, timestamp_ms).encode();
        self.send_dm(me, recipient, &plaintext).await
    }

    async fn mailbox(
        &self,
        which: &str,
        since: Option<i64>,
        limit: Option<u32>,
    ) -> Result<Vec<Dm>, ClientError> {
        let mut path = match since {
            Some(id) => format!("/{which}/since/{id}"),
            None => format!("/{which}"),
        };
        if let Some(n) = limit {
            path.push_str(&format!("?limit={n}"));
        }
        let r = self.get(&path).await?;
        if r.status == 304 {
            return Ok(Vec::new());
        }
        r.ok()?.json()
    }

    /// DMs we received (ids above `since`, if given), oldest first. Nothing new → empty.
    pub async fn inbox(
        &self,
        since: Option<i64>,
        limit: Option<u32>,
    ) -> Result<Vec<Dm>, ClientError> {
        self.mailbox("inbox", since, limit).await
    }

    /// DMs we sent (ids above `since`, if given), oldest first. Nothing new → empty.
    pub async fn outbox(
        &self,
        since: Option<i64>,
        limit: Option<u32>,
    ) -> Result<Vec<Dm>, ClientError> {
        self.mailbox("outbox", since, limit).await
    }

    /// Deletes every DM we received; returns how many.
    pub async fn clear_inbox(&self) -> Result<u64, ClientError> {
        #[derive(Deserialize)]
        struct Deleted {
            deleted: u64,
        }
        let d: Deleted = self.delete("/inbox").await?.ok()?.json()?;
        Ok(d.deleted)
    }
}
