def cases(m):
    return [
        m.Case("get", "/api/v1/me/notices", "global", lambda w, s: "/api/v1/me/notices", ok=m.everyone(200)),
        # somebody else's notice answers as a missing one
        m.Case("post", "/api/v1/me/notices/<int:notice_id>/read", "global",
               lambda w, s: f"/api/v1/me/notices/{m.MISSING}/read", ok=m.everyone(404)),
    ]
