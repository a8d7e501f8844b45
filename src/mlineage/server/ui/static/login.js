'use strict';
// The login page's only script: carry ?next= into the form and show a refusal (no inline script: CSP).
document.addEventListener('DOMContentLoaded', () => {
  const params = new URLSearchParams(location.search);
  const next = params.get('next');
  if (next && next.startsWith('/') && !next.startsWith('//')) document.getElementById('next').value = next;
  if (params.get('error')) document.getElementById('login-error').hidden = false;
});
