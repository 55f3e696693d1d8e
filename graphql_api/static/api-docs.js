// The REST API page: Swagger UI over this service's OpenAPI document, with
// "Authorize" for a Bearer token (a login's access token or an sbx_ API token).
"use strict";
(function () {
  const root = document.getElementById("swagger-ui");
  if (typeof window.SwaggerUIBundle !== "function") {
    root.textContent =
      "Swagger UI's files are missing: run scripts/setup-web-assets.sh. " +
      "The document is at /api/v1/openapi.json.";
    return;
  }
  window.SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    deepLinking: true,
    // Nothing leaves this origin: no validator badge from swagger.io.
    validatorUrl: null,
  });
})();
