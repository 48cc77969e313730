"""What the bench's phases share: the seeded PHLO lines' identity and the progress log."""

import time

PASSWORD = "bench-password-1"
PHLO_ID = "bench-phlo"
ROUTING_PHLO_ID = "bench-routing"
AUTH_TOKEN = "bench-auth-token"


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)
