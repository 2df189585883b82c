-- Session Community server schema (SQLite). The PostgreSQL twin is ../postgres/0001_initial.sql.
CREATE TABLE rooms (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token TEXT NOT NULL CHECK (length(token) BETWEEN 1 AND 64 AND token NOT GLOB '*[^A-Za-z0-9_-]*'),
    name TEXT NOT NULL,
    description TEXT,
    image BIGINT,
    created REAL NOT NULL,
    message_sequence BIGINT NOT NULL DEFAULT 0,
    info_updates BIGINT NOT NULL DEFAULT 0,
    active_users BIGINT NOT NULL DEFAULT 0,
    default_read BOOLEAN NOT NULL DEFAULT TRUE,
    default_accessible BOOLEAN NOT NULL DEFAULT TRUE,
    default_write BOOLEAN NOT NULL DEFAULT TRUE,
    default_upload BOOLEAN NOT NULL DEFAULT TRUE,
    -- per-room post rate limit: NULL = server default (5 per 16 s), 0 posts = off
    rate_limit_posts BIGINT,
    rate_limit_interval REAL,
    -- anti-abuse settings (JSON text, NULL = off)
    filters TEXT,
    dm_members_only BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE UNIQUE INDEX rooms_token_ci ON rooms (lower(token));

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL UNIQUE,
    created REAL NOT NULL,
    last_active REAL NOT NULL,
    banned BOOLEAN NOT NULL DEFAULT FALSE,
    moderator BOOLEAN NOT NULL DEFAULT FALSE,
    admin BOOLEAN NOT NULL DEFAULT FALSE,
    visible_mod BOOLEAN NOT NULL DEFAULT FALSE,
    CHECK (NOT (banned AND (moderator OR admin)))
);

CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    room BIGINT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    author BIGINT NOT NULL REFERENCES users(id),
    posted REAL NOT NULL,
    edited REAL,
    seqno BIGINT NOT NULL,
    seqno_data BIGINT NOT NULL,
    seqno_reactions BIGINT NOT NULL DEFAULT 0,
    seqno_creation BIGINT NOT NULL,
    data BLOB,
    signature BLOB,
    filtered BOOLEAN NOT NULL DEFAULT FALSE,
    whisper_to BIGINT REFERENCES users(id),
    whisper_mods BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX messages_room_seqno ON messages (room, seqno);
CREATE INDEX messages_room_id ON messages (room, id);
CREATE INDEX messages_room_author_posted ON messages (room, author, posted);

CREATE TABLE message_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message BIGINT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    replaced REAL NOT NULL,
    data BLOB,
    signature BLOB
);
CREATE INDEX message_history_replaced ON message_history (replaced);

CREATE TABLE pinned_messages (
    room BIGINT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    message BIGINT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    pinned_by BIGINT NOT NULL REFERENCES users(id),
    pinned_at REAL NOT NULL,
    PRIMARY KEY (room, message)
);

CREATE TABLE files (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    room BIGINT REFERENCES rooms(id) ON DELETE SET NULL,
    uploader BIGINT REFERENCES users(id),
    message BIGINT REFERENCES messages(id) ON DELETE SET NULL,
    size BIGINT NOT NULL,
    uploaded REAL NOT NULL,
    expiry REAL,
    filename TEXT,
    path TEXT NOT NULL
);
CREATE INDEX files_room ON files (room);
CREATE INDEX files_message ON files (message);
CREATE INDEX files_expiry ON files (expiry);

CREATE TABLE reactions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message BIGINT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    reaction TEXT NOT NULL,
    UNIQUE (message, reaction)
);

CREATE TABLE user_reactions (
    reaction BIGINT NOT NULL REFERENCES reactions(id) ON DELETE CASCADE,
    reactor BIGINT NOT NULL REFERENCES users(id),
    at REAL NOT NULL,
    PRIMARY KEY (reaction, reactor)
);

CREATE TABLE room_users (
    room BIGINT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    last_active REAL NOT NULL,
    PRIMARY KEY (room, user_id)
);

CREATE TABLE user_permission_overrides (
    room BIGINT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    banned BOOLEAN NOT NULL DEFAULT FALSE,
    perm_read BOOLEAN,
    perm_accessible BOOLEAN,
    perm_write BOOLEAN,
    perm_upload BOOLEAN,
    moderator BOOLEAN NOT NULL DEFAULT FALSE,
    admin BOOLEAN NOT NULL DEFAULT FALSE,
    visible_mod BOOLEAN NOT NULL DEFAULT TRUE,
    PRIMARY KEY (room, user_id),
    CHECK (NOT (banned AND (moderator OR admin)))
);

CREATE TABLE user_permission_futures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    room BIGINT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    at REAL NOT NULL,
    perm_read BOOLEAN,
    perm_write BOOLEAN,
    perm_upload BOOLEAN
);
CREATE INDEX user_permission_futures_at ON user_permission_futures (at);

CREATE TABLE user_ban_futures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    room BIGINT REFERENCES rooms(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    at REAL NOT NULL,
    banned BOOLEAN NOT NULL
);
CREATE INDEX user_ban_futures_at ON user_ban_futures (at);

CREATE TABLE nonces (
    nonce BLOB PRIMARY KEY,
    expiry REAL NOT NULL
);
CREATE INDEX nonces_expiry ON nonces (expiry);

CREATE TABLE inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    recipient BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    sender BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    body BLOB NOT NULL,
    posted_at REAL NOT NULL,
    expiry REAL NOT NULL
);
CREATE INDEX inbox_recipient ON inbox (recipient, id);
CREATE INDEX inbox_sender ON inbox (sender, id);

CREATE TABLE needs_blinding (
    blinded_abs TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL UNIQUE REFERENCES users(id) ON DELETE CASCADE
);

CREATE TABLE moderation_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    room TEXT,
    target TEXT,
    detail TEXT
);
CREATE INDEX moderation_log_at ON moderation_log (at);
