// igtoken's API docs: Swagger UI from this service's own files, reading this service's schema.
window.ui = SwaggerUIBundle({
  url: "/api/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: false,
  syntaxHighlight: false,
});
