def test_smoke(ctx, app_client, sign_in):
    """Smoke."""
    csrf = sign_in("leah.marchetti@demo-county.example")
    r = app_client.post("/console/start", data={"csrf": csrf, "notified_at": "2023-06-26T09:00", "kind": "full"})
    print(r.status_code, r.headers.get("location"))
    r = app_client.get(r.headers["location"])
    print(r.status_code); open("/tmp/dash.html","w").write(r.text)
    for p in ["survey-links","cases","timetable","requests","feedback","away","fresh-link","owner"]:
        r = app_client.get(f"/console/i/demo-county-2023-06-26/{p}")
        print(p, r.status_code, r.text[:200] if r.status_code!=200 else "")
    for p in ["/console/library","/console/audit","/console/start","/console/"]:
        r = app_client.get(p); print(p, r.status_code)
