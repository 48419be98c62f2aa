-- Resizable schedule items: an item may air only the start of its asset, up to its out point
-- `length_ticks` (90 kHz ticks from the asset's start; the planner cuts it at a segment
-- boundary). NULL airs the whole asset, as every item did before. Ad breaks past it do not air.
-- Forward-only.
ALTER TABLE schedule_items ADD COLUMN length_ticks BIGINT CHECK (length_ticks IS NULL OR length_ticks > 0);
