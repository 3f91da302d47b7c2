"""Non-API routes: the PWA at `/` and the API docs' assets (no CDN)."""

from pathlib import Path

from flask import abort, current_app, redirect, send_from_directory


def _swagger_dist():
    import flask_swagger_ui

    return Path(flask_swagger_ui.__file__).resolve().parent / "dist"


def register_web(app):
    @app.get("/api/docs/assets/<path:filename>")
    def swagger_assets(filename):
        return send_from_directory(_swagger_dist(), filename, max_age=86400)

    @app.get("/i/<int:incident_id>")
    def incident_link(incident_id):
        """The short link in SMS and WeChat messages, into the PWA's incident screen."""
        return redirect(f"/#/incidents/{incident_id}", code=302)

    @app.get("/")
    @app.get("/<path:filename>")
    def pwa(filename="index.html"):
        if filename.startswith("api/"):
            abort(404)
        dist = Path(current_app.config["PWA_DIST"])
        target = dist / filename
        if target.is_file():
            resp = send_from_directory(dist, filename, max_age=0 if _no_cache(filename) else 31536000)
            if filename == "sw.js":
                resp.headers["Service-Worker-Allowed"] = "/"
            return resp
        built = (dist / "index.html").is_file()
        if "." in Path(filename).name and (built or filename != "index.html"):
            abort(404)
        if built:  # client-side routes
            return send_from_directory(dist, "index.html", max_age=0)
        return (
            "<!doctype html><meta charset=utf-8><title>消防预警</title>"
            "<p>PWA 尚未构建：运行 <code>make run</code>。 The PWA is not built yet: run <code>make run</code>.",
            200,
        )


def _no_cache(filename):
    return filename in ("index.html", "sw.js", "manifest.webmanifest") or not filename.startswith("assets/")
