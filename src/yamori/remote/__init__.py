"""Commands that land where they are meant to: SSH through a jump host, target verified first."""

import warnings

# asyncssh imports cryptography's DSA support at import time, which warns on stderr; yamori
# never offers or accepts DSA keys, and the warning would interleave with a remote command's
# own stderr that `yamori remote run` passes through.
warnings.filterwarnings("ignore", message="DSA is deprecated", module="asyncssh")
