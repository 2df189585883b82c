//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` annotations.
//! `openapi/sogs.json` is this document, checked in; a test fails when it is stale.

use crate::routes::{dm, files, general, messages, onion, reactions, rooms, users};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "Session Community server (SOGS v3)", description = "Rooms, messages, moderation, files, reactions, direct messages and onion requests. Authenticated with X-SOGS-Pubkey/Timestamp/Nonce/Signature headers."),
    paths(
        general::capabilities, general::batch, general::sequence_doc, general::openapi_json, general::docs, general::health,
        rooms::list_rooms, rooms::get_room, rooms::update_room, rooms::poll_info,
        messages::since, messages::recent, messages::before, messages::get_message,
        messages::post_message, messages::edit_message, messages::delete_message,
        messages::pin, messages::unpin, messages::unpin_all,
        rooms::room_permissions, rooms::user_permissions, rooms::set_user_permissions,
        rooms::room_future_permissions, rooms::user_future_permissions, rooms::add_future_permission,
        rooms::delete_all_in_room, rooms::delete_all_everywhere,
        users::ban_user, users::unban_user, users::set_moderator,
        files::upload, files::download, files::download_named_doc,
        reactions::add, reactions::remove, reactions::clear, reactions::clear_all_doc, reactions::reactors,
        dm::send, dm::inbox, dm::inbox_since, dm::outbox, dm::outbox_since, dm::clear_inbox,
        onion::lsrpc_v4, onion::lsrpc_v3, onion::lsrpc_v3_loki_doc,
    ),
    tags((name = "general"), (name = "rooms"), (name = "messages"), (name = "files"), (name = "reactions"), (name = "dm"), (name = "moderation"), (name = "users"), (name = "onion"))
)]
pub struct ApiDoc;

#[cfg(test)]
mod tests {
    use super::*;

    /// `openapi/sogs.json` must be the document the code generates.
    /// `UPDATE_OPENAPI=1 cargo test` rewrites it.
    #[test]
    fn checked_in_document_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/sogs.json");
        let generated = ApiDoc::openapi().to_pretty_json().unwrap() + "\n";
        if std::env::var_os("UPDATE_OPENAPI").is_some() {
            std::fs::write(path, &generated).unwrap();
        }
        let on_disk = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            on_disk == generated,
            "openapi/sogs.json is stale: run `UPDATE_OPENAPI=1 cargo test -p sogs-server openapi`"
        );
    }
}
