"""Everything on one machine: the local stack (`payouts dev`) and the demo (`payouts demo`)."""
