-- The pieces each battle was merged from: one engagement's run of kills in
-- one system window (see evedmv_tui.battles.cluster). Incremental detection
-- reclusters only the windows that gain kills and takes every other piece,
-- with its pilots, from here instead of reading its kills again.
CREATE TABLE battle_pieces (
    -- The first killmail of the piece, in (killmail_time, killmail_id) order.
    piece_id         bigint PRIMARY KEY,
    battle_id        bigint NOT NULL REFERENCES battles ON DELETE CASCADE,
    solar_system_id  bigint NOT NULL,
    start_time       timestamptz NOT NULL,
    end_time         timestamptz NOT NULL,
    -- Player characters among the victims and attackers of the piece's kills.
    pilots           bigint[] NOT NULL
);
CREATE INDEX battle_pieces_system_end ON battle_pieces (solar_system_id, end_time);
CREATE INDEX battle_pieces_battle ON battle_pieces (battle_id);

-- NULL on the members of battles detected before pieces were stored; while
-- any is left, incremental detection widens its scope the older way.
ALTER TABLE battle_killmails ADD COLUMN piece_id bigint;
CREATE INDEX battle_killmails_without_piece ON battle_killmails (killmail_id)
    WHERE piece_id IS NULL;
