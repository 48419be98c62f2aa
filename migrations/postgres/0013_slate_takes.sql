-- Slate now: a take to air without a live source airs the channel's slate for every slot from
-- its start to its return (an operator's emergency: a bad programme, a takedown, a broken
-- feed). `source` becomes nullable: NULL is the channel's slate. Forward-only.
ALTER TABLE live_takes ALTER COLUMN source DROP NOT NULL;
ALTER TABLE live_takes ADD CONSTRAINT live_takes_source_named CHECK (source IS NULL OR source <> '');
