-- True when a stored battle has members without a piece, because it was
-- detected before pieces were stored.
SELECT EXISTS (SELECT 1 FROM battle_killmails WHERE piece_id IS NULL)
