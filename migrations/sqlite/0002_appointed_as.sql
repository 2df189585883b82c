-- The 05 Session ID an operator typed when appointing someone who had not connected yet,
-- kept on the blinded user after migration so `sogs moderator list` can show whom they meant.
ALTER TABLE users ADD COLUMN appointed_as TEXT;
