"""The secretariat's web dashboard: server-rendered pages under /admin (Starlette + Jinja2).

Staff pages are in Georgian and English (catalogs in web/locales/); what members see stays in
the four bot languages (locales/). Every page checks the role (web.guard), every form carries
a CSRF token, and every change is written to the audit log by the domain call it makes.
"""
