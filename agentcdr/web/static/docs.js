// The interactive API reference: Swagger UI on this server's own description. Nothing is
// fetched from elsewhere (no validator badge); "Try it out" calls this server.
window.SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#api",
  deepLinking: true,
  validatorUrl: null,
  defaultModelsExpandDepth: 0,
});
