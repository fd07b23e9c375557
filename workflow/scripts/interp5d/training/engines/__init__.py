"""The training engines: one step of the loop each, behind one protocol (base.Engine)."""
