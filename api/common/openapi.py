"""What the route modules' OpenAPI docs share: the bearer-token security requirement
and the optional `Idempotency-Key` header (api.common.idempotency)."""

SECURED = [{"bearer": []}]
IDEMPOTENCY = {"in": "header", "name": "Idempotency-Key", "required": False, "schema": {"type": "string"},
               "description": "A retry with the same key gets the first answer back"}
