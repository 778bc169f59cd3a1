"""Commands that land where they are meant to: SSH through a jump host, target verified first."""
