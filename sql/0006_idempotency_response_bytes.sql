-- An idempotent replay returns the first response byte for byte. jsonb re-orders object keys and
-- normalises the text, so the response body is kept as the exact JSON text that was sent.
alter table idempotency_keys alter column response_body type text using response_body::text;
