"""Network paths: probe each hop and target of a declared path, name the segment at fault.

plan (config + inventory -> what to probe) -> icmp/tcp/http probes -> measure (one round)
-> verdict (pure: rounds -> kind, first bad hop, findings) -> report (JSON, table) / probe (agent).
"""
