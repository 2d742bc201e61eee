// Swagger UI on our own document. A file of its own (not an inline script) so the page's
// Content-Security-Policy allows scripts from this server and nothing else.
/* global SwaggerUIBundle */
window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  // Off: the default sends the document to a validator on another server and shows its badge.
  validatorUrl: null,
  // Credentials typed into "Authorize" stay in the page's memory, not in localStorage.
  persistAuthorization: false,
  displayOperationId: true,
  tryItOutEnabled: false,
});
