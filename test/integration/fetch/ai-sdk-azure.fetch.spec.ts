import { aiSdkAzureDriver } from './clients';
import { clientSuite } from './client-suite';

clientSuite(aiSdkAzureDriver);
