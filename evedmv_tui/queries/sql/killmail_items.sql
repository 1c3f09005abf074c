-- Items of one killmail in document order, with a unit price. The price
-- rules match evedmv_tui/valuation.py (zKillboard's): blueprint copies
-- (singleton 2), the Golden Pod implant (type 33329 in flag 89) and ships
-- in the frigate escape bay (flag 179) count 0.01 ISK; otherwise ESI's
-- average price, else its adjusted price. NULL means no price is known.
SELECT
    i.item_index,
    i.parent_index,
    i.item_type_id,
    t.type_name,
    i.flag,
    i.singleton,
    i.quantity_destroyed,
    i.quantity_dropped,
    CASE
        WHEN i.singleton = 2
          OR (i.item_type_id = 33329 AND i.flag = 89)
          OR i.flag = 179
        THEN 0.01
        ELSE coalesce(p.average_price, nullif(p.adjusted_price, 0))
    END AS unit_price
FROM items i
LEFT JOIN types t ON t.type_id = i.item_type_id
LEFT JOIN prices p ON p.type_id = i.item_type_id
WHERE i.killmail_id = %(killmail_id)s
  AND i.killmail_time = %(killmail_time)s
ORDER BY i.item_index
