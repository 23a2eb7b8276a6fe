-- Items and modifications of actions are written only by processing: items in the statement that inserts
-- their action (its id from RETURNING, the account the file's), modifications in the transaction that holds
-- their action's row lock. Actions are never deleted. The foreign key's RI check per row cost more than the
-- insert itself (1M items: 9.3–12.1 s with it, 2.9–4.6 s without), as it did for clicks and actions (003).
ALTER TABLE action_items DROP CONSTRAINT action_items_account_id_action_id_fkey;
ALTER TABLE action_modifications DROP CONSTRAINT action_modifications_account_id_action_id_fkey;
