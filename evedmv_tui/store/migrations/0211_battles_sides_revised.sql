-- Stored battles need a full detection after this version's changes to side
-- assignment: attackers who did no damage join the fleet they flew with, the
-- negligible damage share is measured against the top player attacker, and
-- groups that only lost ships, or never met another side, are no longer
-- counted as sides of their own.
--
-- Detection does not rebuild battles whose kills did not change, so battles
-- detected by an earlier version would keep their old sides and metrics.
-- The flag makes 'evedmv battles list', 'battles show' and the battle
-- screens say so until 'evedmv battles detect --rebuild' clears it. An empty
-- database has nothing to rebuild.
UPDATE static_data_version
SET battles_outdated = battles_outdated OR EXISTS (SELECT 1 FROM battles);
