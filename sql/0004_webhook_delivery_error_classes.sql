-- Delivery attempts recorded before Settle stored error classes hold the raw socket error
-- ("connect ECONNREFUSED 127.0.0.1:9", "socket hang up"), which the deliveries API shows the
-- merchant: it maps the host's open and closed ports. Replace each with its class, as new attempts
-- record it, and give failed HTTP answers (recorded then without an error) theirs.
update webhook_deliveries set error = case
    when error ~ 'ECONNREFUSED' then 'connection_refused'
    when error ~ 'ECONNRESET|EPIPE|ECONNABORTED|socket hang up' then 'connection_reset'
    when error ~ 'ETIMEDOUT|timed out' then 'timeout'
    when error ~ 'ENOTFOUND|EAI_' then 'dns_error'
    when error ~ 'EPRIVATEADDRESS|private addresses' then 'blocked_address'
    when error ~ 'EHOSTUNREACH|ENETUNREACH|EHOSTDOWN|ENETDOWN|EADDRNOTAVAIL' then 'unreachable'
    when error ~* 'certificate|ssl|tls|EPROTO' then 'tls_error'
    when error ~ 'HPE_|Parse Error' then 'invalid_response'
    when error = 'invalid URL' then 'invalid_url'
    else 'network_error'
  end
where error is not null and error !~ '^[a-z0-9_]+$';

update webhook_deliveries set error = case
    when status_code between 300 and 399 then 'http_3xx'
    when status_code between 400 and 499 then 'http_4xx'
    when status_code between 500 and 599 then 'http_5xx'
    else 'invalid_response'
  end
where error is null and status_code is not null and status_code not between 200 and 299;
