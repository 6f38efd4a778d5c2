// VX11 operator page. The API base is relative: the page and the API share one
// origin (the gateway), so no host name or port appears anywhere in this file.
"use strict";
const API_BASE = "";
const session = sessionStorage.getItem("vx11.session") || crypto.randomUUID();
sessionStorage.setItem("vx11.session", session);

function url(path) {
  // Resolved against this page (/operator/): "api/chat" -> /operator/api/chat.
  return new URL(API_BASE + path, document.baseURI);
}

function headers() {
  return {"content-type": "application/json", "x-vx11-token": document.getElementById("token").value};
}

function say(who, text, degraded) {
  const item = document.createElement("li");
  item.className = who + (degraded ? " degraded" : "");
  item.textContent = (degraded ? "[fallback] " : "") + text;
  document.getElementById("log").appendChild(item);
}

async function send(event) {
  event.preventDefault();
  const box = document.getElementById("message");
  const message = box.value.trim();
  if (!message) return;
  say("operator", message, false);
  box.value = "";
  const answer = await fetch(url("api/chat"), {method: "POST", headers: headers(),
    body: JSON.stringify({message: message, session_id: session})});
  const body = await answer.json();
  say("assistant", answer.ok ? body.reply : (body.detail || body.error), answer.ok && body.degraded);
}

async function refreshWindows() {
  const answer = await fetch(url("../madre/power/windows"), {headers: headers()});
  const list = document.getElementById("window-list");
  list.replaceChildren();
  if (!answer.ok) return;
  for (const w of (await answer.json()).windows) {
    const item = document.createElement("li");
    item.textContent = `${w.service} ${w.window_id} until ${new Date(w.deadline_timestamp * 1000).toISOString()}`;
    list.appendChild(item);
  }
}

async function refreshHealth() {
  const answer = await fetch(url("../health"));
  const body = await answer.json();
  document.getElementById("health").textContent = "health: " + body.status;
}

document.getElementById("send").addEventListener("submit", send);
document.getElementById("refresh").addEventListener("click", refreshWindows);
refreshHealth();
