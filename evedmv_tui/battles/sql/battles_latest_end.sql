-- When the latest stored battle ended, for a list that a time filter left
-- empty.
SELECT max(end_time) FROM battles
