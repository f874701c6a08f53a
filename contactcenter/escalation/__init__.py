"""SLA escalation: the sweep that takes the policy's steps on work short of its target."""
