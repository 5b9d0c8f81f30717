"""The mailbox intake: what arrives in the shared inboxes by email becomes work for the engine.

`mailboxes` polls the watched inboxes through EWS once; `comms_requests` records an inspector's request
forwarded to the comms inbox as an additional evidence request (reading it with `forwarded`);
`evidence_replies` keeps the files sent to the evidence inbox about request N and answers its submit step.
"""
