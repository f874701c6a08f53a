// The login form: POST /api/v1/auth/login sets the session cookie; then on to the page asked
// for (only a path of this site), or the one that fits the role.
const form = document.querySelector("#login");
const error = document.querySelector("#error");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.textContent = "";
  const body = { username: form.username.value.trim(), password: form.password.value };
  if (!body.username || !body.password) {
    error.textContent = "Give your username and password.";
    return;
  }
  const response = await fetch("/api/v1/auth/login", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  if (!response.ok) {
    const data = await response.json().catch(() => ({}));
    error.textContent = response.status === 401 ? "Wrong username or password."
      : (data.error && data.error.message) || `The service answered ${response.status}.`;
    form.password.select();
    return;
  }
  const { user } = await response.json();
  const next = new URLSearchParams(location.search).get("next");
  const safe = next && /^\/[a-z]+$/.test(next) ? next : null;
  const home = user.role !== "agent" && user.agent_id === null ? "/supervisor" : "/console";
  location.href = safe || home;
});
