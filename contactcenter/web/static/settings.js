// Settings for admins: logins (with their role and agent) and API tokens for other systems.
import { api, el, toast, topBar, when } from "./common.js";

let users = [];

async function reload() {
  const [u, t, a] = await Promise.all([api("GET", "/api/v1/users"), api("GET", "/api/v1/tokens"),
    api("GET", "/api/v1/agents")]);
  users = u.users;
  const agents = new Map(a.agents.map((x) => [x.id, x.name]));
  document.querySelector("#users").replaceChildren(...users.map((x) => el("tr", {},
    el("td", {}, x.username), el("td", {}, x.role),
    el("td", {}, x.agent_id ? agents.get(x.agent_id) || `#${x.agent_id}` : "—"),
    el("td", {}, x.active ? "yes" : "no"))));
  document.querySelector("#nu-agent").replaceChildren(el("option", { value: "" }, "none"),
    ...a.agents.map((x) => el("option", { value: x.id }, x.name)));
  document.querySelector("#nt-user").replaceChildren(...users.map((x) =>
    el("option", { value: x.id }, `${x.username} (${x.role})`)));
  const names = new Map(users.map((x) => [x.id, x.username]));
  document.querySelector("#tokens").replaceChildren(...t.tokens.map((x) => el("tr", {},
    el("td", {}, x.name), el("td", {}, names.get(x.user_id) || `#${x.user_id}`),
    el("td", {}, el("code", {}, `${x.prefix}…`)), el("td", {}, when(x.last_used_at) || "never"),
    el("td", {}, x.revoked_at ? `revoked ${when(x.revoked_at)}`
      : el("button", { class: "danger", onclick: () => revoke(x) }, "Revoke")))));
}

async function revoke(token) {
  if (!confirm(`Revoke the token “${token.name}”? Systems using it stop at once.`)) return;
  await api("DELETE", `/api/v1/tokens/${token.id}`);
  reload();
}

document.querySelector("#new-user").addEventListener("submit", async (event) => {
  event.preventDefault();
  const agent = document.querySelector("#nu-agent").value;
  const body = { username: document.querySelector("#nu-name").value.trim(),
    password: document.querySelector("#nu-password").value,
    role: document.querySelector("#nu-role").value, agent_id: agent ? Number(agent) : null };
  try {
    await api("POST", "/api/v1/users", body);
    event.target.reset();
    document.querySelector("#nu-error").textContent = "";
    toast(`Login ${body.username} created.`);
    reload();
  } catch (error) {
    document.querySelector("#nu-error").textContent = error.message;
  }
});

document.querySelector("#new-token").addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = { name: document.querySelector("#nt-name").value.trim(),
    user_id: Number(document.querySelector("#nt-user").value) };
  try {
    const made = await api("POST", "/api/v1/tokens", body);
    document.querySelector("#secret").replaceChildren("Copy this secret now; it is not shown again: ",
      el("code", {}, made.token));
    event.target.reset();
    reload();
  } catch (error) {
    toast(error.message);
  }
});

topBar("/settings");
reload().catch((error) => toast(error.message));
