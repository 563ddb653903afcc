"""The HTTP tagging service: dynamic batching of requests (batching), the
export behind it (service), the API and its page (http_app, page.html)."""
