"""The work-queue page: server-rendered HTML (Jinja2 templates, htmx served by
the app) over the task API's own functions (api/tasks.py), so a person sees and
does exactly what the API lets them, and every decision is the same Update."""
