<?php
// The PHP origin of the differential suite (tests/differential.test.js),
// served by PHP's built-in server routing by files (no router script):
// every checked script answers what it parsed for each checked field
// through $_POST, $_REQUEST, $_GET and php://input (as JSON, whatever the
// content type says, as many applications read it), and which route ran.

function reading($source, $name) {
    if (!is_array($source) || !array_key_exists($name, $source)) {
        return null;
    }
    $value = $source[$name];
    return is_string($value) ? $value : ['other' => gettype($value)];
}

function answer($route) {
    $spec = json_decode(file_get_contents(__DIR__ . '/../fields.json'), true);
    $input = json_decode(file_get_contents('php://input'), true);
    $fields = [];
    foreach ($spec['fields'] as $name) {
        $fields[$name] = [
            'post' => reading($_POST, $name),
            'request' => reading($_REQUEST, $name),
            'get' => reading($_GET, $name),
            'input' => reading($input, $name),
        ];
    }
    if ($route === 'login') {
        $user = reading($_POST, 'username');
        if (is_string($user) && str_starts_with($user, 'sess') && reading($_POST, 'password') === $spec['loginPassword']) {
            header('Portcullis-Login-User: u-' . $user);
        } else {
            http_response_code(401);
        }
    }
    header('Content-Type: application/json');
    echo json_encode([
        'origin' => 'php',
        'route' => $route,
        'path' => $_SERVER['REQUEST_URI'],
        'pathInfo' => $_SERVER['PATH_INFO'] ?? null,
        'fields' => $fields,
    ], JSON_INVALID_UTF8_SUBSTITUTE);
}
