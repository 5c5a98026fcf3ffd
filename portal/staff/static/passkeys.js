/* Passkeys (WebAuthn) in the back office: adding one on the account page, and signing in with
 * one instead of a code at the second step.
 *
 * First-party and without dependencies (the Content-Security-Policy allows only 'self'). The
 * passkey parts of a page carry the `hidden` attribute; this script removes it only when the
 * browser supports WebAuthn, so without JavaScript the pages work as before: a code from the
 * authenticator app, or a recovery code.
 *
 * Each part is an element with data-passkey="register" or "sign-in" and these attributes:
 * data-options-url, data-verify-url (POST, JSON, CSRF token in the X-CSRFToken header),
 * data-csrf, and translated messages data-msg-*. The server answers {error, field} or
 * {redirect}; the options are py_webauthn's JSON (binary values in base64url).
 */
(function () {
  "use strict";

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) {
      binary += String.fromCharCode(bytes[i]);
    }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function fromBase64url(value) {
    var base64 = value.replace(/-/g, "+").replace(/_/g, "/");
    var padded = base64 + "===".slice((base64.length + 3) % 4);
    var binary = atob(padded);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) {
      bytes[i] = binary.charCodeAt(i);
    }
    return bytes.buffer;
  }

  function descriptors(list) {
    return (list || []).map(function (item) {
      return { type: item.type, id: fromBase64url(item.id), transports: item.transports };
    });
  }

  function creationOptions(json) {
    var options = Object.assign({}, json);
    options.challenge = fromBase64url(json.challenge);
    options.user = Object.assign({}, json.user, { id: fromBase64url(json.user.id) });
    options.excludeCredentials = descriptors(json.excludeCredentials);
    return options;
  }

  function requestOptions(json) {
    var options = Object.assign({}, json);
    options.challenge = fromBase64url(json.challenge);
    options.allowCredentials = descriptors(json.allowCredentials);
    return options;
  }

  function registrationJSON(credential) {
    var response = credential.response;
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      response: {
        clientDataJSON: toBase64url(response.clientDataJSON),
        attestationObject: toBase64url(response.attestationObject),
        transports: typeof response.getTransports === "function" ? response.getTransports() : [],
      },
    };
  }

  function assertionJSON(credential) {
    var response = credential.response;
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      response: {
        clientDataJSON: toBase64url(response.clientDataJSON),
        authenticatorData: toBase64url(response.authenticatorData),
        signature: toBase64url(response.signature),
        userHandle: response.userHandle ? toBase64url(response.userHandle) : null,
      },
    };
  }

  /* POST body as JSON; resolves to {ok, data}. A non-JSON answer (a rate limit, an expired
   * form) becomes an error with the part's own message. */
  function postJSON(part, url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": part.dataset.csrf,
      },
      body: JSON.stringify(body),
    }).then(function (response) {
      if (response.redirected) {
        // Signed out meanwhile: the server sent the browser to the sign-in page.
        return { ok: false, data: { redirect: response.url } };
      }
      var type = response.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") === -1) {
        var message = response.status === 429 ? part.dataset.msgLimited : part.dataset.msgFailed;
        return { ok: false, data: { error: message } };
      }
      return response.json().then(function (data) {
        return { ok: response.ok, data: data };
      });
    });
  }

  /* Go to the page the server names. Only the fragment differs from this page's address (the
   * account page after adding a passkey)? Then reload, or the flashed message would not show. */
  function go(url) {
    var target = new URL(url, window.location.href);
    var here = window.location;
    if (target.pathname === here.pathname && target.search === here.search) {
      here.hash = target.hash;
      here.reload();
    } else {
      here.assign(target.href);
    }
  }

  function browserError(part, error) {
    if (error && (error.name === "NotAllowedError" || error.name === "AbortError")) {
      return part.dataset.msgCancelled;
    }
    if (error && error.name === "InvalidStateError" && part.dataset.msgDuplicate) {
      return part.dataset.msgDuplicate;
    }
    return part.dataset.msgFailed;
  }

  function setup(part, run) {
    var alert = part.querySelector("[data-passkey-error]");
    var status = part.querySelector("[data-passkey-status]");
    var button = part.querySelector("[data-passkey-button]");
    var busy = false;

    function fail(message, field) {
      status.textContent = "";
      alert.textContent = message || part.dataset.msgFailed;
      alert.hidden = false;
      if (field) {
        var input = part.querySelector('[name="' + field + '"]');
        if (input) {
          input.setAttribute("aria-invalid", "true");
          input.focus();
        }
      }
      button.disabled = false;
      busy = false;
    }

    function start(event) {
      if (event) {
        event.preventDefault();
      }
      if (busy) {
        return;
      }
      busy = true;
      button.disabled = true;
      alert.hidden = true;
      alert.textContent = "";
      part.querySelectorAll("[aria-invalid]").forEach(function (input) {
        input.removeAttribute("aria-invalid");
      });
      status.textContent = part.dataset.msgWorking;
      run(part)
        .then(function (result) {
          var data = result.data || {};
          if (data.redirect) {
            go(data.redirect);
          }
          if (!result.ok) {
            fail(data.error, data.field);
          }
        })
        .catch(function (error) {
          fail(browserError(part, error));
        });
    }

    var form = part.querySelector("form");
    if (form) {
      form.addEventListener("submit", start);
    } else {
      button.addEventListener("click", start);
    }
    part.hidden = false;
  }

  function register(part) {
    var form = part.querySelector("form");
    var body = {};
    new FormData(form).forEach(function (value, key) {
      body[key] = value;
    });
    return postJSON(part, part.dataset.optionsUrl, body).then(function (answer) {
      if (!answer.ok) {
        return answer;
      }
      return navigator.credentials
        .create({ publicKey: creationOptions(answer.data) })
        .then(function (credential) {
          return postJSON(part, part.dataset.verifyUrl, registrationJSON(credential));
        });
    });
  }

  function signIn(part) {
    return postJSON(part, part.dataset.optionsUrl, {}).then(function (answer) {
      if (!answer.ok || answer.data.redirect) {
        return answer;
      }
      return navigator.credentials
        .get({ publicKey: requestOptions(answer.data) })
        .then(function (credential) {
          return postJSON(part, part.dataset.verifyUrl, assertionJSON(credential));
        });
    });
  }

  var supported =
    typeof window.PublicKeyCredential === "function" &&
    navigator.credentials &&
    typeof navigator.credentials.create === "function" &&
    typeof window.fetch === "function";

  document.querySelectorAll("[data-passkey]").forEach(function (part) {
    if (!supported) {
      var note = document.querySelector("[data-passkey-unsupported]");
      if (note) {
        note.hidden = false;
      }
      return;
    }
    setup(part, part.dataset.passkey === "register" ? register : signIn);
  });
})();
